"""Anthropic Messages to OpenAI Chat Completions: requests, responses and error bodies.

A request from an Anthropic client becomes one any OpenAI-compatible upstream accepts. The conversation is
``anthropic_to_openai_messages``'s job; here are the request's settings. Each top-level field is translated,
dropped for a stated reason (cache hints, context edits, Anthropic's own service options) or refused with
``Untranslatable``, and so is any field this module does not know: nothing is lost without a word. Effort and
thinking become ``reasoning_effort``; server tools, which run at Anthropic, are refused. docs/wire.md has the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

from gateway.providers.wire import anthropic_to_openai_messages, error_bodies, usage
from gateway.providers.wire.errors import Untranslatable

FINISH_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "end_turn": "stop",
        "max_tokens": "length",
        "stop_sequence": "stop",
        "tool_use": "tool_calls",
        "pause_turn": "stop",
        "refusal": "content_filter",
        "model_context_window_exceeded": "length",
    }
)
TOOL_CHOICES: Final[Mapping[str, str]] = MappingProxyType({"auto": "auto", "none": "none", "any": "required"})
# Anthropic's 529 is its own; OpenAI clients and proxies between them know 503 for the same condition.
OPENAI_STATUSES: Final[Mapping[int, int]] = MappingProxyType({529: 503})
# reasoning_effort values every OpenAI-compatible reasoning server knows; Anthropic's two highest map to the top.
EFFORTS: Final[Mapping[str, str]] = MappingProxyType(
    {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
)
# A thinking budget below 4,096 tokens reads as low effort, below 16,384 as medium, else high (the inverse of
# the budgets responses_to_anthropic gives each effort).
BUDGET_EFFORTS: Final[tuple[tuple[int, str], ...]] = ((4096, "low"), (16384, "medium"))
TRANSLATED = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
    }
)
DROPPED: Final[Mapping[str, str]] = MappingProxyType(
    {
        "top_k": "Chat Completions has no top-k sampling",
        "cache_control": "a cache hint; OpenAI-compatible servers cache prompt prefixes by themselves",
        "context_management": "edits Anthropic applies to the context it keeps; the upstream is sent it all",
        "service_tier": "Anthropic's capacity tiers",
        "inference_geo": "where Anthropic runs the model",
        "speed": "Anthropic's fast mode",
    }
)
REFUSED: Final[Mapping[str, str]] = MappingProxyType(
    {
        "mcp_servers": "Anthropic's MCP connector calls the servers from Anthropic; a Chat upstream cannot",
        "container": "code execution containers live at Anthropic",
    }
)
MAX_STOP = 4  # OpenAI's limit on stop sequences
MAX_USER = 64  # OpenAI's limit on the length of ``user``
MAX_TOOL_NAME = 64  # OpenAI's limit on a function name (Anthropic allows 128)


def request(
    body: dict[str, Any],
    *,
    model: str | None = None,
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    reasoning_effort: bool = True,
) -> dict[str, Any]:
    """The OpenAI request for a validated Anthropic request; ``model`` replaces the client's model name.

    ``max_tokens_field`` names the field the upstream reads: OpenAI's reasoning models accept only
    ``max_completion_tokens``, while many OpenAI-compatible servers know only ``max_tokens``. A streamed
    request asks for the usage chunk, so the answer is charged from the upstream's own count. With
    ``reasoning_effort`` false no effort is sent (OpenAI refuses it for models that do not reason).
    """
    _check_fields(body)
    out: dict[str, Any] = {
        "model": model or body["model"],
        "messages": anthropic_to_openai_messages.messages(body),
        max_tokens_field: body["max_tokens"],
    }
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if stop := body.get("stop_sequences"):
        if len(stop) > MAX_STOP:
            raise Untranslatable("stop_sequences", f"Chat Completions takes at most {MAX_STOP} stop sequences")
        out["stop"] = list(stop)
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    if (user := user_of(body.get("metadata"))) is not None:
        out["user"] = user
    if reasoning_effort and (effort := effort_of(body)) is not None:
        out["reasoning_effort"] = effort
    fmt = (body.get("output_config") or {}).get("format")
    if fmt is not None:
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}
    _tools(body, out)
    return out


def effort_of(body: dict[str, Any]) -> str | None:
    """The ``reasoning_effort`` for a request: its ``output_config.effort``, else the latest one a system
    message set (Chat has one effort per request), else one read from a ``thinking`` budget; ``None`` for
    adaptive or disabled thinking with no effort (the upstream model's default)."""
    effort = (body.get("output_config") or {}).get("effort")
    if effort is None:
        for message in body["messages"]:
            config = message.get("output_config") if message["role"] == "system" else None
            if isinstance(config, dict) and config.get("effort") is not None:
                effort = config["effort"]
    if effort is not None:
        return EFFORTS[effort]
    thinking = body.get("thinking") or {}
    if thinking.get("type") != "enabled":
        return None
    budget = thinking["budget_tokens"]
    return next((name for below, name in BUDGET_EFFORTS if budget < below), "high")


def user_of(metadata: object) -> str | None:
    """``metadata.user_id`` as OpenAI's ``user``: as it is up to 64 characters, else its SHA-256 in hex (64
    characters, as stable per user as the id itself; Claude Code sends a JSON object of ~150)."""
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    return user_id if len(user_id) <= MAX_USER else hashlib.sha256(user_id.encode()).hexdigest()


def response(body: dict[str, Any], *, created: int, model: str | None = None) -> dict[str, Any]:
    """The chat.completion for an Anthropic Message; ``created`` is the Unix time to report."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append(anthropic_to_openai_messages.tool_call(block))
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    if any(thinking):
        message["reasoning_content"] = "".join(thinking)  # as OpenAI-compatible reasoning servers name it
    reported = usage.from_anthropic(body) or usage.Usage(0, 0)
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason(body.get("stop_reason")),
        "logprobs": None,
    }
    return {
        "id": body.get("id") or "chatcmpl-unknown",
        "object": "chat.completion",
        "created": created,
        "model": model or body.get("model") or "",
        "choices": [choice],
        "usage": reported.to_openai(),
    }


def finish_reason(stop_reason: object) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def error(status: int, body: bytes | str | dict[str, Any]) -> error_bodies.ErrorReply:
    """An Anthropic-shaped upstream error as an OpenAI client would see it; Anthropic's 529 becomes 503."""
    read = error_bodies.read(body)
    shown = OPENAI_STATUSES.get(status, status)
    return error_bodies.ErrorReply(shown, error_bodies.openai_body(shown, read.message, code=read.type))


def _check_fields(body: dict[str, Any]) -> None:
    for key, value in body.items():
        if value is None or key in TRANSLATED or key in DROPPED:
            continue
        reason = REFUSED.get(key, "it has no Chat Completions equivalent; only an Anthropic upstream takes it")
        raise Untranslatable(key, reason)


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    """Client tools as functions; ``cache_control``, ``defer_loading`` (all are sent at once) and Anthropic's
    other tool options are dropped. Server tools run at Anthropic and are refused."""
    tools = body.get("tools")
    if not tools:
        return
    converted = []
    for j, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Untranslatable(
                f"tools[{j}].type", f"Anthropic's {tool['type']!r} server tool has no OpenAI equivalent"
            )
        if len(tool["name"]) > MAX_TOOL_NAME:
            raise Untranslatable(
                f"tools[{j}].name", f"OpenAI takes function names of at most {MAX_TOOL_NAME} characters"
            )
        function: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = tool["input_schema"]
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
        converted.append({"type": "function", "function": function})
    out["tools"] = converted
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif isinstance(kind, str) and kind in TOOL_CHOICES:
        out["tool_choice"] = TOOL_CHOICES[kind]
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
