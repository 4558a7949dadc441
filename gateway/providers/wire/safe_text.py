"""Upstream text made safe to echo to a client or to store: printable, valid UTF-8, bounded.

An upstream's error message is the one piece of its bytes the gateway repeats in its own words (a 502's message,
a stream's error event, a request-log row). A NUL there is refused by Postgres, a lone surrogate by any UTF-8
encoder, an escape sequence paints a terminal, and a megabyte of text is nobody's error message. Control
characters become U+FFFD, invalid UTF-8 and lone surrogates become U+FFFD, and long text is cut with a marker.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

REPLACEMENT = "\ufffd"
MARKER = "…(truncated)"
DEFAULT_LIMIT = 1000

# C0 controls other than tab, line feed and carriage return; DEL; the C1 controls.
_CONTROLS: Final = MappingProxyType(
    dict.fromkeys((*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)), REPLACEMENT)
)


def text(value: str, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` with controls and lone surrogates replaced, at most ``limit`` characters (marker included)."""
    return _safe(value, limit, cut=False)


def from_bytes(raw: bytes, limit: int = DEFAULT_LIMIT) -> str:
    """Bytes of unknown encoding as safe text: invalid UTF-8 becomes U+FFFD. Only the head that can show is read."""
    head = raw[: limit * 4]  # no character takes more than four bytes
    return _safe(head.decode("utf-8", "replace"), limit, cut=len(head) < len(raw))


def _safe(value: str, limit: int, *, cut: bool) -> str:
    if cut or len(value) > limit:
        value = value[: limit - len(MARKER)] + MARKER if limit > len(MARKER) else value[:limit]
    if not value.isascii():  # a lone surrogate becomes one U+FFFD; a pair in two code points becomes its character
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value.translate(_CONTROLS)
