"""Deterministic replies and token counts of the fake upstreams, so tests can compute exact costs.

Tokens are whitespace-separated words. prompt tokens = words of every text in the request (Anthropic's
`system` included; tool definitions not counted); the reply is "echo: <last user text>" cut to `max_tokens`
words; completion tokens = words of the reply (for a tool call: words of "<name> <arguments>").
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping
from typing import Any


def words(text: str) -> int:
    return len(text.split())


def content_text(content: Any) -> str:
    """Text of a message content: a string, or OpenAI parts / Anthropic blocks of type `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""


def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Words of all message texts plus Anthropic's top-level `system`."""
    texts = [content_text(message.get("content")) for message in _messages(body)]
    texts.append(content_text(body.get("system")))
    return sum(words(text) for text in texts)


def last_user_text(body: Mapping[str, Any]) -> str:
    for message in reversed(_messages(body)):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def max_tokens(body: Mapping[str, Any]) -> int | None:
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def reply(body: Mapping[str, Any]) -> tuple[str, bool]:
    """(reply text, whether it was cut at max_tokens)."""
    full = ["echo:", *last_user_text(body).split()]
    limit = max_tokens(body)
    if limit is not None and len(full) > limit:
        return " ".join(full[:limit]), True
    return " ".join(full), False


def tool_call_tokens(name: str, arguments: str) -> int:
    return words(f"{name} {arguments}")


def pieces(text: str) -> list[str]:
    """Stream pieces of a reply: one word each, later ones with their leading space."""
    parts = text.split(" ")
    return [parts[0], *(" " + part for part in parts[1:])] if text else []


def json_pieces(arguments: str, size: int = 8) -> list[str]:
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def embedding(text: str, dimensions: int = 8) -> list[float]:
    """A unit-free vector derived from the text's SHA-256; the same text always gives the same vector."""
    digest = hashlib.sha256(text.encode()).digest()
    while len(digest) < dimensions:
        digest += hashlib.sha256(digest).digest()
    return [round(byte / 255.0 - 0.5, 6) for byte in digest[:dimensions]]


def embedding_base64(vector: list[float]) -> str:
    """OpenAI's `encoding_format: base64`: little-endian float32s, base64 text (the SDK's default request)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
