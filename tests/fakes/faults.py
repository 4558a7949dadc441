"""Faults a fake upstream can be scripted to produce, one per request, in queue order.

Each fake renders an error fault in its own provider's real error shape, so the same script exercises the
classification of every provider type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "error",
    "delay",
    "malformed_json",
    "wrong_shape",
    "stall_after",
    "cut_after",
    "error_event_after",
    "tool_call",
    "drop",
    "cached",
]
ErrorName = Literal["rate_limited", "server_error", "overloaded", "unauthorized", "context_overflow", "invalid"]


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int = 0
    error: ErrorName | None = None
    retry_after: float | None = None  # sent as a Retry-After header when set
    seconds: float = 0.0
    chunks: int = 0
    tool_name: str = ""
    tool_arguments: str = "{}"
    echo_key: bool = False  # put the presented key, unmasked, in the error message
    cache_read: int = 0  # prompt tokens reported as read from the provider's prompt cache
    cache_write: int = 0  # prompt tokens reported as written to it

    @property
    def is_tool_call(self) -> bool:
        return self.kind == "tool_call"


def rate_limited(retry_after: float | None = None) -> Fault:
    return Fault("error", status=429, error="rate_limited", retry_after=retry_after)


def server_error(status: int = 500) -> Fault:
    return Fault("error", status=status, error="server_error")


def overloaded() -> Fault:
    """Anthropic's 529 `overloaded_error` (other fakes send the same status in their own shape)."""
    return Fault("error", status=529, error="overloaded")


def unauthorized(*, echo_key: bool = False) -> Fault:
    return Fault("error", status=401, error="unauthorized", echo_key=echo_key)


def context_overflow() -> Fault:
    return Fault("error", status=400, error="context_overflow")


def invalid_request(status: int = 400) -> Fault:
    """The provider refuses the request as malformed (a field it does not take)."""
    return Fault("error", status=status, error="invalid")


def delay(seconds: float) -> Fault:
    """Answer normally, but only after `seconds` (cut short when the fake closes)."""
    return Fault("delay", seconds=seconds)


def malformed_json() -> Fault:
    """A 200 whose JSON body is cut off."""
    return Fault("malformed_json")


def wrong_shape() -> Fault:
    """A 200 whose body is valid JSON of another shape than the endpoint's answer (extra routes: count_tokens...)."""
    return Fault("wrong_shape")


def stall_after(chunks: int) -> Fault:
    """Send `chunks` stream events, then nothing until the fake closes (non-stream: no body at all)."""
    return Fault("stall_after", chunks=chunks)


def cut_after(chunks: int) -> Fault:
    """Send `chunks` stream events, then close the connection (non-stream: half the body, then close)."""
    return Fault("cut_after", chunks=chunks)


def error_event_after(chunks: int) -> Fault:
    """Send `chunks` stream events, then an in-stream error event (Anthropic `event: error`, overloaded)."""
    return Fault("error_event_after", status=529, error="overloaded", chunks=chunks)


def tool_call(name: str, arguments: str) -> Fault:
    """Reply with one call of tool `name` whose JSON `arguments` are given as text."""
    return Fault("tool_call", tool_name=name, tool_arguments=arguments)


def cached(read: int, write: int = 0) -> Fault:
    """Answer normally, reporting ``read`` prompt tokens read from the prompt cache and ``write`` written to it, on
    top of the counted prompt: Anthropic's ``cache_read_input_tokens`` / ``cache_creation_input_tokens``, OpenAI's
    ``prompt_tokens_details.cached_tokens`` / ``cache_write_tokens`` (both included in its ``prompt_tokens``)."""
    return Fault("cached", cache_read=read, cache_write=write)


def drop() -> Fault:
    """Close the connection without any response."""
    return Fault("drop")
