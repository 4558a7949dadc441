"""``POST /v1/messages/count_tokens``: the input tokens of an Anthropic Messages request, without an upstream.

An estimate from the same estimator routing uses (``gateway.tokens``), so a client that sizes its context with it
sees the figure the gateway routes and reserves budget by; Anthropic's own count differs by tokenizer. Every
message (``system`` ones included) is one text; tool calls count their name and input JSON, tool results their
content; images count a fixed amount each, and so do documents other than plain text; thinking counts its text
(redacted thinking is opaque and not counted); other blocks count their JSON. Pure: the endpoint wraps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway import tokens


def count(request: Mapping[str, Any]) -> dict[str, int]:
    """The response body for a validated request (``anthropic_messages.validate_request(..., count_only=True)``)."""
    return {"input_tokens": input_tokens(request)}


def input_tokens(request: Mapping[str, Any]) -> int:
    texts: list[str] = []
    media = 0
    system = request.get("system")
    if system:
        texts.append(system if isinstance(system, str) else "\n".join(block["text"] for block in system))
    for message in request["messages"]:
        content = message.get("content")
        if content is None:  # a system message carrying only an output_config
            continue
        if isinstance(content, str):
            texts.append(content)
            continue
        parts: list[str] = []
        for block in content:
            media += _block(block, parts)
        texts.append("\n".join(parts))
    tools = request.get("tools") or ()
    return tokens.estimate_input(texts, images=media, tools=tools)


def _block(block: dict[str, Any], parts: list[str]) -> int:
    """Add a block's text to ``parts``; return how many images (or non-text documents) it holds."""
    kind = block["type"]
    if kind == "text":
        parts.append(block["text"])
    elif kind == "thinking":
        parts.append(block["thinking"])
    elif kind == "tool_use":
        parts.append(block["name"])
        parts.append(orjson.dumps(block["input"]).decode())
    elif kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            return sum(_block(inner, parts) for inner in content)
    elif kind == "image":
        return 1
    elif kind == "document":
        source = block["source"]
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            parts.append(source["data"])
        else:
            return 1
    elif kind != "redacted_thinking":
        parts.append(orjson.dumps(block).decode())
    return 0
