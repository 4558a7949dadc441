"""Anthropic thinking blocks carried through the Responses API in a reasoning item's ``encrypted_content``.

Anthropic needs the thinking blocks of an assistant turn sent back unchanged (text and signature, or the
redacted data) to continue it, for example after a tool call. A Responses client sends reasoning items back
as it received them, with ``encrypted_content`` opaque to it, so the whole block travels there, marked by a
prefix: text, signature and data, in unpadded URL-safe base64 of its JSON. Reasoning state from anywhere
else (OpenAI's own encrypted content) does not start with the prefix, and no upstream but its own can read it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

PREFIX = "tokenhub.anthropic.v1:"


def encode(block: dict[str, Any]) -> str:
    """The ``encrypted_content`` for a ``thinking`` or ``redacted_thinking`` block."""
    kept = {key: block[key] for key in ("type", "thinking", "signature", "data") if key in block}
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps(kept)).rstrip(b"=").decode("ascii")


def decode(encrypted_content: object) -> dict[str, Any] | None:
    """The thinking block ``encode`` was given; ``None`` for any other content, or one damaged on the way."""
    if not isinstance(encrypted_content, str) or not encrypted_content.startswith(PREFIX):
        return None
    encoded = encrypted_content[len(PREFIX) :]
    try:
        block = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    whole = (
        isinstance(block.get("thinking"), str) and isinstance(block.get("signature"), str)
        if kind == "thinking"
        else kind == "redacted_thinking" and isinstance(block.get("data"), str)
    )
    return block if whole else None


def is_anthropic(item: dict[str, Any]) -> bool:
    """Whether a reasoning item carries an Anthropic thinking block: to drop before a native OpenAI upstream,
    which would refuse content it did not encrypt."""
    return item.get("type") == "reasoning" and str(item.get("encrypted_content") or "").startswith(PREFIX)
