"""Token estimate without a tokenizer: calibrated per-character rates by script class, plus overheads.

No tokenizer ships its vocabulary on PyPI in a vetted form (tiktoken downloads its BPE files at first use),
and each provider tokenizes differently anyway. Rates were fitted against cl100k_base (bench/RESULTS.md has the
corpus and the error per class); every count uses C-speed ``bytes``/``str`` operations, never a Python loop.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

_ALNUM = (string.ascii_letters + string.digits).encode()
_ALNUM_WS = _ALNUM + b" \t\r\n\f\v"


@dataclass(frozen=True, slots=True)
class Calibration:
    """Tokens per character by class, and fixed costs in tokens."""

    alnum: float = 0.29  # ASCII letters and digits
    punct: float = 0.68  # other printable ASCII
    space: float = 0.0  # ASCII whitespace (merged into neighbouring tokens)
    two_byte: float = 0.625  # Latin accents, Greek, Cyrillic, Hebrew, Arabic (UTF-8 two-byte)
    three_byte: float = 1.1  # CJK, Indic, Thai (UTF-8 three-byte)
    four_byte: float = 2.0  # emoji and other astral characters
    per_message: int = 4  # role and delimiters
    per_request: int = 3  # priming of the reply
    per_image: int = 1000
    per_tool: int = 8


DEFAULT = Calibration()


def count_text(text: str, cal: Calibration = DEFAULT) -> float:
    if not text:
        return 0.0
    ascii_bytes = text.encode("ascii", "ignore")
    non_alnum = len(ascii_bytes.translate(None, _ALNUM))
    punct = len(ascii_bytes.translate(None, _ALNUM_WS))
    tokens = cal.alnum * (len(ascii_bytes) - non_alnum) + cal.punct * punct + cal.space * (non_alnum - punct)
    n = len(text)
    if len(ascii_bytes) == n:
        return tokens
    # Character counts per UTF-8 width from three encoded lengths (all computed in C).
    utf8 = len(text.encode("utf-8", "surrogatepass"))
    four = len(text.encode("utf-16-le", "surrogatepass")) // 2 - n
    rest = n - len(ascii_bytes) - four
    three = utf8 - len(ascii_bytes) - 4 * four - 2 * rest
    two = rest - three
    return tokens + cal.two_byte * two + cal.three_byte * three + cal.four_byte * four


def estimate_input(
    texts: Sequence[str],
    *,
    images: int = 0,
    tools: Sequence[Mapping[str, Any]] = (),
    cal: Calibration = DEFAULT,
) -> int:
    """Input tokens of a chat request: one text per message (parts joined), images, and tool schemas."""
    total: float = cal.per_request + cal.per_message * len(texts) + cal.per_image * max(images, 0)
    total += sum(count_text(t, cal) for t in texts)
    if tools:
        schema = orjson.dumps(list(tools)).decode()
        total += cal.per_tool * len(tools) + count_text(schema, cal)
    return int(total + 0.999)


def estimate_output(max_tokens: int | None, context_window: int, input_tokens: int, default: int = 512) -> int:
    """Output tokens to reserve: the client's max_tokens, else ``default`` (never beyond the window)."""
    if max_tokens is not None and max_tokens > 0:
        return max_tokens
    if context_window > 0:
        return max(0, min(default, context_window - input_tokens))
    return default
