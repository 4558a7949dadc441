"""Anthropic Messages API bodies as the fake sends them: message, SSE event sequence, models, errors.

Stream order: message_start (usage with input tokens, output 1), content_block_start, ping, content_block_delta
(text_delta or input_json_delta), content_block_stop, message_delta (stop_reason, cumulative output tokens),
message_stop. Each event is `event: <type>` plus a `data:` line. A request with `thinking` enabled or adaptive
gets a thinking block first, as Anthropic's thinking models answer: `THINKING` (empty with `display: omitted`)
and the signature `SIGNATURE`, streamed as a thinking_delta and a signature_delta; its words count as output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.fakes import faults, replies

THINKING = "the user wants an echo"
SIGNATURE = "EqQBCkgIARABGAIiQFakeSignatureOfTheThinkingBlock=="


def sse(payload: Mapping[str, Any]) -> bytes:
    return b"event: " + str(payload["type"]).encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _tool_block(tool: faults.Fault) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": "toolu_fake_1",
        "name": tool.tool_name,
        "input": orjson.loads(tool.tool_arguments),
    }


def thinking_block(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The thinking block a request with thinking on gets first; None when thinking is off."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return None
    shown = "" if thinking.get("display") == "omitted" else THINKING
    return {"type": "thinking", "thinking": shown, "signature": SIGNATURE}


def usage(body: Mapping[str, Any], output: int, fault: faults.Fault | None) -> dict[str, int]:
    counts = {"input_tokens": replies.prompt_tokens(body), "output_tokens": output}
    if fault is not None and fault.kind == "cached":
        counts |= {"cache_creation_input_tokens": fault.cache_write, "cache_read_input_tokens": fault.cache_read}
    return counts


def message(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> dict[str, Any]:
    """The whole Message; ``tool`` is the fault shaping the reply (a tool call, cache usage) or None."""
    if tool is not None and tool.is_tool_call:
        content = [_tool_block(tool)]
        stop, output = "tool_use", replies.tool_call_tokens(tool.tool_name, tool.tool_arguments)
    else:
        text, cut = replies.reply(body)
        content = [{"type": "text", "text": text}]
        stop, output = ("max_tokens" if cut else "end_turn"), replies.words(text)
    thinking = thinking_block(body)
    if thinking is not None:
        content.insert(0, thinking)
        output += replies.words(thinking["thinking"])
    return {
        "id": reply_id,
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage(body, output, tool),
    }


def stream_events(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
    start = message(body, reply_id, tool)
    output = start["usage"]["output_tokens"]
    start.update(content=[], stop_reason=None)
    start["usage"] = {
        "input_tokens": start["usage"]["input_tokens"],
        "cache_creation_input_tokens": start["usage"].get("cache_creation_input_tokens", 0),
        "cache_read_input_tokens": start["usage"].get("cache_read_input_tokens", 0),
        "output_tokens": 1,
    }
    if tool is not None and tool.is_tool_call:
        block: dict[str, Any] = {**_tool_block(tool), "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in replies.json_pieces(tool.tool_arguments)]
        stop = "tool_use"
    else:
        text, cut = replies.reply(body)
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in replies.pieces(text)]
        stop = "max_tokens" if cut else "end_turn"
    thinking = thinking_block(body)
    first: list[bytes] = []
    if thinking is not None:
        first = [
            sse({"type": "content_block_start", "index": 0, "content_block": {**thinking, "thinking": ""}}),
            *(
                [sse({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}})]
                if (t := thinking["thinking"])
                else []
            ),
            sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": SIGNATURE},
                }
            ),
            sse({"type": "content_block_stop", "index": 0}),
        ]
    at = len(first) and 1
    return [
        sse({"type": "message_start", "message": start}),
        *first,
        sse({"type": "content_block_start", "index": at, "content_block": block}),
        sse({"type": "ping"}),
        *(sse({"type": "content_block_delta", "index": at, "delta": delta}) for delta in deltas),
        sse({"type": "content_block_stop", "index": at}),
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output},
            }
        ),
        sse({"type": "message_stop"}),
    ]


def count_tokens(body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /v1/messages/count_tokens``: the prompt tokens the same request would be billed for."""
    return {"input_tokens": replies.prompt_tokens(body)}


def models(ids: tuple[str, ...]) -> dict[str, Any]:
    data = [{"type": "model", "id": id_, "display_name": id_, "created_at": "2025-01-01T00:00:00Z"} for id_ in ids]
    return {"data": data, "has_more": False, "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}


def error_body(type_: str, message_text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message_text}}


def error(fault: faults.Fault, *, presented_key: str, prompt: int) -> dict[str, Any]:
    """Anthropic's error envelope: {"type": "error", "error": {"type", "message"}}."""
    if fault.error == "rate_limited":
        return error_body("rate_limit_error", "This request would exceed the rate limit for your organization.")
    if fault.error == "overloaded":
        return error_body("overloaded_error", "Overloaded")
    if fault.error == "unauthorized":
        return error_body("authentication_error", f"invalid x-api-key{': ' + presented_key if fault.echo_key else ''}")
    if fault.error == "context_overflow":
        return error_body("invalid_request_error", f"prompt is too long: {prompt + 200000} tokens > 200000 maximum")
    if fault.error == "invalid":
        return error_body("invalid_request_error", "max_tokens: Extra inputs are not permitted")
    return error_body("api_error", "Internal server error")
