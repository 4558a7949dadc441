"""OpenAI Responses API bodies and streams as the fake OpenAI upstream sends them (``POST /v1/responses``).

Replies follow the fakes' rules (`replies`) read through the request's items: the reply echoes the last user
text, prompt tokens are the words of every text in the conversation (earlier turns of a stored conversation and
``instructions`` included), output tokens the words of the reply. Streams follow OpenAI's event sequence:
``response.created``, ``response.in_progress``, per item ``output_item.added``, its part and deltas, the
``.done`` events, ``output_item.done``, then ``response.completed`` with the usage; every event is named and
numbered. An error inside a stream is an ``error`` event followed by ``response.failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.fakes import faults, replies

CREATED = 1_700_000_000
ENCRYPTED_REASONING = "gAAAAB-fake-openai-encrypted-reasoning"


def sse(event: Mapping[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    given = body.get("input")
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": given}]
    return [item for item in given or () if isinstance(item, dict)]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text") or part.get("refusal") or "") for part in content if isinstance(part, dict)
        )
    return ""


def as_chat(body: Mapping[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The conversation as the Chat-shaped body `replies` reads: messages, ``max_tokens``."""
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    for item in [*history, *items(body)]:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item.get("role"), "content": _text(item.get("content"))})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append({"role": "tool", "content": _text(item.get("output"))})
    chat: dict[str, Any] = {"messages": messages}
    if isinstance(body.get("max_output_tokens"), int):
        chat["max_tokens"] = body["max_output_tokens"]
    return chat


def _usage(prompt: int, completion: int, fault: faults.Fault | None = None) -> dict[str, Any]:
    read, write = (fault.cache_read, fault.cache_write) if fault is not None and fault.kind == "cached" else (0, 0)
    prompt += read + write  # part of input_tokens, as OpenAI counts them
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _envelope(body: Mapping[str, Any], reply_id: str, status: str) -> dict[str, Any]:
    return {
        "id": reply_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", ""),
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning"),
        "store": body.get("store") is not False,
        "temperature": body.get("temperature"),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "metadata": body.get("metadata") or {},
    }


def _output(
    body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None, history: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int, bool]:
    """(output items, output tokens, whether the reply was cut at max_output_tokens)."""
    number = reply_id.removeprefix("resp_")
    output: list[dict[str, Any]] = []
    if body.get("reasoning") is not None:
        output.append(
            {"type": "reasoning", "id": f"rs_{number}", "summary": [], "encrypted_content": ENCRYPTED_REASONING}
        )
    if tool is not None and tool.is_tool_call:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{number}",
                "call_id": f"call_{number}",
                "name": tool.tool_name,
                "arguments": tool.tool_arguments,
                "status": "completed",
            }
        )
        return output, replies.tool_call_tokens(tool.tool_name, tool.tool_arguments), False
    text, cut = replies.reply(as_chat(body, history))
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    status = "incomplete" if cut else "completed"
    output.append({"type": "message", "id": f"msg_{number}", "role": "assistant", "status": status, "content": [part]})
    return output, replies.words(text), cut


def response(
    body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """A whole Response; ``history`` is the stored conversation a ``previous_response_id`` continues."""
    output, completion, cut = _output(body, reply_id, tool, history)
    done = _envelope(body, reply_id, "incomplete" if cut else "completed")
    done["output"] = output
    done["usage"] = _usage(replies.prompt_tokens(as_chat(body, history)), completion, tool)
    if cut:
        done["incomplete_details"] = {"reason": "max_output_tokens"}
    return done


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "reasoning":
        return [
            {"type": "response.output_item.added", "output_index": index, "item": {**item, "encrypted_content": None}},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    if item["type"] == "function_call":
        arguments = item["arguments"]
        return [
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "arguments": "", "status": "in_progress"},
            },
            *(
                {"type": "response.function_call_arguments.delta", **where, "delta": piece}
                for piece in replies.json_pieces(arguments)
            ),
            {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    part = item["content"][0]
    text = part["text"]
    at = {**where, "content_index": 0}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        *(
            {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
            for piece in replies.pieces(text)
        ),
        {"type": "response.output_text.done", **at, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def stream_events(
    body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None, history: list[dict[str, Any]]
) -> list[bytes]:
    done = response(body, reply_id, tool, history)
    started = _envelope(body, reply_id, "in_progress")
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(done["output"]):
        events += _item_events(index, item)
    events.append({"type": f"response.{done['status']}", "response": done})
    return [sse({**event, "sequence_number": n}) for n, event in enumerate(events)]


def error_event(payload: Mapping[str, Any], sequence_number: int = 1000) -> bytes:
    """An in-stream failure: ``error`` then ``response.failed``, from the fake's error body."""
    error = payload.get("error") or {}
    code = str(error.get("code") or error.get("type") or "server_error")
    message = str(error.get("message") or "")
    failed: dict[str, Any] = {"id": "resp_failed", "object": "response", "status": "failed", "output": []}
    failed |= {"usage": None, "error": {"code": "server_error", "message": message}}
    return sse(
        {"type": "error", "sequence_number": sequence_number, "code": code, "message": message, "param": None}
    ) + sse({"type": "response.failed", "sequence_number": sequence_number + 1, "response": failed})


def not_found(previous_id: str) -> dict[str, Any]:
    """OpenAI's answer to a ``previous_response_id`` it does not hold."""
    return {
        "error": {
            "message": f"Previous response with id '{previous_id}' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
    }
