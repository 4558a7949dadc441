"""Helpers that check the shape of translated streams and put their pieces back together."""

from __future__ import annotations

from typing import Any

import orjson


def openai_text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))


def openai_tool_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """OpenAI tool-call deltas reassembled by index: id, name and the concatenated arguments."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            for delta in choice["delta"].get("tool_calls") or ():
                call = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
                if delta.get("id"):
                    assert not call["id"], "a tool call's id is sent once, in its first delta"
                    call["id"] = delta["id"]
                function = delta.get("function") or {}
                call["name"] += function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
    return calls


def check_openai_order(chunks: list[dict[str, Any]], *, include_usage: bool = True) -> None:
    """Role first, exactly one finish reason, and the usage chunk (empty choices) last."""
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    finishes = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finishes) == 1
    if include_usage:
        assert chunks[-1]["choices"] == [] and "usage" in chunks[-1]
        assert chunks[-2] is finishes[0]
    else:
        assert chunks[-1] is finishes[0]


def check_anthropic_protocol(events: list[dict[str, Any]]) -> None:
    """message_start first, message_stop last, every delta inside its block's start and stop."""
    assert events[0]["type"] == "message_start"
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    started: set[int] = set()
    stopped: set[int] = set()
    for event in events[1:-2]:
        index = event.get("index")
        kind = event["type"]
        if kind == "content_block_start":
            assert index == len(started), "blocks start in index order"
            started.add(index)
        elif kind == "content_block_delta":
            assert index in started and index not in stopped
        elif kind == "content_block_stop":
            assert index in started and index not in stopped
            stopped.add(index)
        else:
            raise AssertionError(f"unexpected {kind} inside the message")
    assert started == stopped, "every block is closed before the message ends"


def anthropic_blocks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The content blocks a client would assemble, with tool inputs parsed."""
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        if event["type"] == "content_block_start":
            blocks[event["index"]] = dict(event["content_block"]) | {"_json": ""}
        elif event["type"] == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                block["_json"] += delta["partial_json"]
    out = []
    for _, block in sorted(blocks.items()):
        raw = block.pop("_json")
        if block["type"] == "tool_use":
            block["input"] = orjson.loads(raw) if raw else {}
        out.append(block)
    return out
