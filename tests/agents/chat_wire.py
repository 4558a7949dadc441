"""Chat Completions replies, streamed and whole, as the capture server sends them when it stands in for a
Chat-Completions-only upstream behind the gateway (a CLI's request arrives translated).

Chunks in OpenAI's order: a role chunk, content (or one tool call: id and name first, then its arguments in
pieces), the finish reason, then the usage chunk when `stream_options.include_usage` asks for it, and `[DONE]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.agents import responses_wire, script

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _sse(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def _call(reply_id: str, reply: script.ToolCall) -> dict[str, Any]:
    arguments = orjson.dumps(reply.arguments).decode()
    return {"id": f"call_{reply_id}", "type": "function", "function": {"name": reply.name, "arguments": arguments}}


def completion(body: Mapping[str, Any], reply_id: str, reply: script.Reply) -> dict[str, Any]:
    if isinstance(reply, script.Text):
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        finish = "stop"
    else:
        message, finish = {"role": "assistant", "content": None, "tool_calls": [_call(reply_id, reply)]}, "tool_calls"
    choice = {"index": 0, "message": message, "finish_reason": finish}
    head = {"id": reply_id, "object": "chat.completion", "created": 1_700_000_000, "model": body.get("model", "")}
    return {**head, "choices": [choice], "usage": USAGE}


def stream(body: Mapping[str, Any], reply_id: str, reply: script.Reply) -> list[bytes]:
    head = {"id": reply_id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": body.get("model", "")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    if isinstance(reply, script.Text):
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in responses_wire.pieces(reply.text)]
        events.append(chunk({}, "stop"))
    else:
        call = _call(reply_id, reply)
        first = {"index": 0, "id": call["id"], "type": "function", "function": {"name": reply.name, "arguments": ""}}
        events = [chunk({"role": "assistant", "content": None, "tool_calls": [first]})]
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in responses_wire.pieces(call["function"]["arguments"])
        ]
        events.append(chunk({}, "tool_calls"))
    options = body.get("stream_options")
    if isinstance(options, Mapping) and options.get("include_usage"):
        events.append(_sse({**head, "choices": [], "usage": USAGE}))
    return [*events, b"data: [DONE]\n\n"]
