"""OpenAI Responses API stream events, as the capture server sends them to Codex.

The sequence follows the event types in the openai SDK (`openai.types.responses`): response.created,
response.in_progress, then per output item output_item.added, its deltas and .done events, output_item.done, and
finally response.completed carrying the whole response with usage. Each event is an SSE `event:` + `data:` pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.agents import script

ENCRYPTED_REASONING = "gAAAAB-capture-opaque-reasoning-0001"


def sse(event: Mapping[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def pieces(text: str, size: int = 8) -> list[str]:
    """Splits text into deltas, so a client's reassembly is exercised."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def response(body: Mapping[str, Any], response_id: str, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    usage = None
    if status == "completed":
        usage = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15,
        }
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": body.get("model", ""),
        "output": output,
        "parallel_tool_calls": bool(body.get("parallel_tool_calls", False)),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [],
        "store": bool(body.get("store", False)),
        "usage": usage,
    }


def _message_events(index: int, item_id: str, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    done = {"id": item_id, "type": "message", "role": "assistant", "status": "completed", "content": [part]}
    added = {**done, "status": "in_progress", "content": []}
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
        *({"type": "response.output_text.delta", **where, "delta": d, "logprobs": []} for d in pieces(text)),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return done, events


def _reasoning_events(index: int, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A reasoning item with no summary and opaque encrypted content, as `include: [reasoning.encrypted_content]`
    with `store: false` returns it; the client must pass it back untouched in its next request's input."""
    done = {"id": item_id, "type": "reasoning", "summary": [], "encrypted_content": ENCRYPTED_REASONING}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": {**done, "encrypted_content": None}},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return done, events


def _function_call_events(
    index: int, item_id: str, call_id: str, name: str, arguments: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    done = {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }
    added = {**done, "status": "in_progress", "arguments": ""}
    where = {"item_id": item_id, "output_index": index}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *({"type": "response.function_call_arguments.delta", **where, "delta": d} for d in pieces(arguments)),
        {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
        {"type": "response.output_item.done", "output_index": index, "item": done},
    ]
    return done, events


def _parts(response_id: str, reply: script.Reply) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    if isinstance(reply, script.Text):
        return [_message_events(0, f"msg_{response_id}", reply.text)]
    # A reasoning item, then the call: what a reasoning model answers when it decides to use a tool.
    arguments = orjson.dumps(reply.arguments).decode()
    return [
        _reasoning_events(0, f"rs_{response_id}"),
        _function_call_events(1, f"fc_{response_id}", f"call_{response_id}", reply.name, arguments),
    ]


def stream(body: Mapping[str, Any], response_id: str, reply: script.Reply) -> list[bytes]:
    parts = _parts(response_id, reply)
    sequence = [
        {"type": "response.created", "response": response(body, response_id, "in_progress", [])},
        {"type": "response.in_progress", "response": response(body, response_id, "in_progress", [])},
        *(event for _, events in parts for event in events),
        {"type": "response.completed", "response": completed(body, response_id, reply)},
    ]
    return [sse({**event, "sequence_number": n}) for n, event in enumerate(sequence)]


def completed(body: Mapping[str, Any], response_id: str, reply: script.Reply) -> dict[str, Any]:
    """The finished response: the body of a non-streaming reply and of the response.completed event."""
    return response(body, response_id, "completed", [item for item, _ in _parts(response_id, reply)])
