"""Tool-call ids that stay valid in both APIs and survive a round trip through the other.

OpenAI accepts any string as a tool-call id; Anthropic requires ``^[a-zA-Z0-9_-]+$``. An id that Anthropic
would refuse (``functions.get_weather:0`` from some OpenAI-compatible servers), or one that starts with our
prefix, is encoded as the prefix plus its UTF-8 bytes in unpadded URL-safe base64, whose alphabet is exactly
Anthropic's. Decoding reverses it, so ``from_anthropic(to_anthropic(x)) == x`` for every non-empty string ``x`` (no API
has empty ids, so a bare prefix is an id of its own, never the encoding of one).
"""

from __future__ import annotations

import base64
import binascii

PREFIX = "th64_"
ANTHROPIC_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def to_anthropic(tool_id: str) -> str:
    """An id Anthropic accepts: ``tool_id`` itself when it already is one, else its reversible encoding."""
    if tool_id and not tool_id.startswith(PREFIX) and ANTHROPIC_ID_CHARS.issuperset(tool_id):
        return tool_id
    return PREFIX + base64.urlsafe_b64encode(tool_id.encode()).rstrip(b"=").decode("ascii")


def from_anthropic(tool_id: str) -> str:
    """The id ``to_anthropic`` was given; any id it did not produce comes back unchanged."""
    if not tool_id.startswith(PREFIX):
        return tool_id
    encoded = tool_id[len(PREFIX) :]
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return tool_id
    return decoded if decoded and to_anthropic(decoded) == tool_id else tool_id


def sanitize(text: str) -> str:
    """``text`` with every character Anthropic refuses in an id replaced by ``_`` (one way, for new ids)."""
    return "".join(c if c in ANTHROPIC_ID_CHARS else "_" for c in text)
