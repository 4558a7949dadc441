"""The Responses API stream relay as a sans-I/O state machine: upstream SSE bytes in, Responses events out.

A native upstream's events go out as they came (each re-framed from its decoded fields, data unchanged); the
relay reads them for what the gateway needs: usage from the final ``response.completed`` / ``.incomplete`` /
``.failed``, the finished Response (for ``store``), an in-stream ``error``, and the length of the deltas (the
estimate when the upstream never says). Chat Completions and Anthropic streams go through the ``wire`` stream
translators event by event. However the upstream stops, ``finish`` ends the client's stream properly: a stream
cut short ends with an ``error`` event and ``response.failed``, numbered after the upstream's last event.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import responses_events, responses_objects, sse, usage
from gateway.providers.wire.anthropic_to_responses_stream import AnthropicToResponsesStream
from gateway.providers.wire.chat_to_responses_stream import CUT_SHORT, ChatToResponsesStream
from gateway.serving.responses_dialects import Route

FINAL = frozenset({"response.completed", "response.incomplete"})
DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
    }
)


def _frame(event: sse.SseEvent) -> bytes:
    head = b"event: " + event.event.encode() + b"\n" if event.event else b""
    return head + b"".join([b"data: " + line.encode() + b"\n" for line in event.data.split("\n")]) + b"\n"


class ResponsesRelay:
    def __init__(
        self,
        route: Route,
        echo: dict[str, Any],
        *,
        response_id: str,
        created_at: int,
        input_estimate: int,
    ) -> None:
        """``echo`` is the request the translated Response echoes; ``response_id`` its id (native: unused)."""
        self._decoder = sse.SseDecoder()
        self._translator: ChatToResponsesStream | AnthropicToResponsesStream | None = None
        if route is Route.CHAT:
            self._translator = ChatToResponsesStream(
                request=echo, response_id=response_id, created_at=created_at, input_estimate=input_estimate
            )
        elif route is Route.ANTHROPIC:
            self._translator = AnthropicToResponsesStream(
                request=echo, response_id=response_id, created_at=created_at, input_estimate=input_estimate
            )
        self._input_estimate = input_estimate
        self._chars = 0
        self._reported: usage.Usage | None = None
        self._envelope: dict[str, Any] | None = None  # native: the response of response.created
        self._items: list[dict[str, Any]] = []  # native: the items done so far
        self._sequence = -1  # native: the last sequence_number seen
        self._ended = False
        self._upstream_error: str | None = None
        self.final: dict[str, Any] | None = None  # the finished Response (completed or incomplete)

    @property
    def usage(self) -> usage.Usage:
        if self._translator is not None:
            return self._translator.usage
        if self._reported is not None:
            return self._reported
        return usage.Usage(self._input_estimate, usage.estimate_tokens(self._chars), estimated=True)

    @property
    def upstream_error(self) -> str | None:
        return self._upstream_error

    @property
    def ended(self) -> bool:
        """Whether the client's stream has had its final event."""
        return self._ended

    def feed(self, chunk: bytes) -> bytes:
        return b"".join([self._event(event) for event in self._decoder.feed(chunk)])

    def finish(self, broken: str | None = None) -> bytes:
        """The bytes that end the client's stream; ``broken`` says why the upstream stopped early, if it did."""
        out = b"".join([self._event(event) for event in self._decoder.flush()])
        if self._ended:
            return out
        if self._translator is not None:
            events = self._translator.fail(broken) if broken is not None else self._translator.finish()
            return out + self._translated(events)
        return out + self._native_failure(broken or self._upstream_error or CUT_SHORT)

    def _event(self, event: sse.SseEvent) -> bytes:
        if self._ended or event.is_done:
            return b""
        try:
            payload = event.json()
        except orjson.JSONDecodeError:
            return b""  # not JSON: nothing a client could use (keep-alive noise)
        if not isinstance(payload, dict):
            return b""
        if self._translator is not None:
            return self._translated(self._translator.feed(payload))
        self._note_native(payload)
        return _frame(event)

    def _translated(self, events: list[dict[str, Any]]) -> bytes:
        for event in events:
            self._note_final(event)
        return b"".join([responses_events.encode(event) for event in events])

    def _note_final(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in FINAL:
            self.final = event.get("response")
            self._ended = True
        elif kind == "response.failed":
            self._ended = True
            error = (event.get("response") or {}).get("error") or {}
            self._upstream_error = self._upstream_error or str(error.get("message") or "the response failed")
        elif kind == "error":
            self._upstream_error = str(event.get("message") or "upstream error")

    def _note_native(self, payload: dict[str, Any]) -> None:
        sequence = payload.get("sequence_number")
        if isinstance(sequence, int):
            self._sequence = max(self._sequence, sequence)
        kind = payload.get("type")
        if kind in DELTAS:
            delta = payload.get("delta")
            self._chars += len(delta) if isinstance(delta, str) else 0
        elif kind == "response.created" and isinstance(payload.get("response"), dict):
            self._envelope = payload["response"]
        elif kind == "response.output_item.done" and isinstance(payload.get("item"), dict):
            self._items.append(payload["item"])
        elif kind in FINAL or kind == "response.failed":
            self._reported = responses_objects.from_responses(payload) or self._reported
        if kind in FINAL or kind in ("response.failed", "error"):
            self._note_final(payload)

    def _native_failure(self, message: str) -> bytes:
        """``error`` and ``response.failed`` for a native stream that stopped before its final event."""
        self._ended = True
        told = self._upstream_error is not None  # the upstream's own error event went out already
        self._upstream_error = message
        response = dict(self._envelope or {"id": "", "object": "response", "created_at": 0, "output": []})
        response["status"] = "failed"
        response["error"] = {"code": "server_error", "message": message}
        response["output"] = self._items
        response["usage"] = responses_objects.usage_body(self.usage)
        out = b""
        if not told:
            self._sequence += 1
            error = {"type": "error", "sequence_number": self._sequence, "code": "server_error", "message": message}
            out = responses_events.encode({**error, "param": None})
        failed = {"type": "response.failed", "sequence_number": self._sequence + 1, "response": response}
        return out + responses_events.encode(failed)
