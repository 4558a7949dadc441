"""Anthropic Messages replies, streamed and whole, as the capture server sends them to Claude Code.

Stream order as the Messages API documents it: message_start, ping, per content block content_block_start,
its deltas (text_delta, input_json_delta, signature_delta) and content_block_stop, then message_delta (stop
reason, usage) and message_stop. A tool call comes after a thinking block, as a thinking model sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.agents import responses_wire, script
from tests.fakes import anthropic_wire

SIGNATURE = "capture-opaque-thinking-signature-0001"
_USAGE = {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

Block = tuple[dict[str, Any], list[dict[str, Any]]]  # the whole block, and its stream events


def _block(index: int, whole: dict[str, Any], start: dict[str, Any], deltas: list[dict[str, Any]]) -> Block:
    events = [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
        {"type": "content_block_stop", "index": index},
    ]
    return whole, events


def _blocks(message_id: str, reply: script.Reply) -> tuple[list[Block], str]:
    if isinstance(reply, script.Text):
        deltas = [{"type": "text_delta", "text": piece} for piece in responses_wire.pieces(reply.text)]
        return [_block(0, {"type": "text", "text": reply.text}, {"type": "text", "text": ""}, deltas)], "end_turn"
    # `display: omitted` thinking streams no thinking text, only the signature the client must pass back.
    thinking = {"type": "thinking", "thinking": "", "signature": SIGNATURE}
    signature = [{"type": "signature_delta", "signature": SIGNATURE}]
    tool_use = {"type": "tool_use", "id": f"toolu_{message_id}", "name": reply.name, "input": dict(reply.arguments)}
    arguments = orjson.dumps(reply.arguments).decode()
    deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in responses_wire.pieces(arguments)]
    return [
        _block(0, thinking, {**thinking, "signature": ""}, signature),
        _block(1, tool_use, {**tool_use, "input": {}}, deltas),
    ], "tool_use"


def message(body: Mapping[str, Any], message_id: str, reply: script.Reply) -> dict[str, Any]:
    """The non-streaming reply."""
    blocks, stop = _blocks(message_id, reply)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": [whole for whole, _ in blocks],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {**_USAGE, "output_tokens": 5},
    }


def stream(body: Mapping[str, Any], message_id: str, reply: script.Reply) -> list[bytes]:
    blocks, stop = _blocks(message_id, reply)
    start = {
        **message(body, message_id, reply),
        "content": [],
        "stop_reason": None,
        "usage": {**_USAGE, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "ping"},
        *(event for _, block_events in blocks for event in block_events),
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]
    return [anthropic_wire.sse(event) for event in events]
