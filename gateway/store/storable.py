"""Values made storable before they reach Postgres, so that no single value can make Postgres refuse a batch.

Postgres refuses NUL in text and jsonb, UTF-8 cannot encode a lone surrogate, and a number outside its column's
type fails the whole statement. Each rule here maps any value of its column's type to one Postgres accepts,
and never raises:

- text: NUL and lone surrogates become the visible escape ``\\u0000`` / ``\\udXXX``; text longer than its
  column's cap is cut and ends with ``MARKER`` and the original length, so the cut is visible and the row short;
- integers are clamped into the column's range (``INT4``, ``INT8``, or narrower: a token count is >= 0);
- floats: NaN and infinities become the column's default (NULL where the column allows it, else 0.0);
- money (``numeric(p, s)``): rounded half-up to ``s`` places and clamped into ``[0, 10**(p-s))``; NaN is 0.
  A cost is never negative at the store, so a charge can never hand budget back;
- JSON: strings and keys as text, numbers as above (integers into int64), other types as their ``str``; depth,
  items per container and nodes in all are bounded.

Clamping keeps the row (its other fields are worth more than one absurd number) and shows the bound itself, so
the value still stands out. Rules are pure and idempotent: a storable value passes through unchanged.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

INT4 = (-(2**31), 2**31 - 1)
INT8 = (-(2**63), 2**63 - 1)
COUNT4 = (0, 2**31 - 1)  # an int4 count of things (tokens): never negative
MARKER = "…[truncated: "  # a cut text ends with MARKER + "<original length> chars]"

_SURROGATE = re.compile("[\ud800-\udfff]")
# NUL and every surrogate code point, mapped to its visible escape (read-only: no module-level mutable state).
_ESCAPES = types.MappingProxyType({c: f"\\u{c:04x}" for c in (0, *range(0xD800, 0xE000))})
_ZERO = Decimal(0)


def text(value: str, cap: int) -> str:
    """``value`` without NUL or lone surrogates, at most ``cap`` characters long."""
    if type(value) is not str:
        value = str(value)
    dirty = "\x00" in value or not (value.isascii() or _SURROGATE.search(value) is None)
    if not dirty and len(value) <= cap:
        return value
    head = value[:cap].translate(_ESCAPES) if dirty else value[:cap]  # escaping only grows: the head is enough
    if len(value) <= cap and len(head) <= cap:
        return head
    tail = f"{MARKER}{len(value)} chars]"
    keep = cap - len(tail)
    return head[:keep] + tail if keep > 0 else head[:cap]


def optional_text(value: str | None, cap: int) -> str | None:
    return None if value is None else text(value, cap)


def integer(value: int, bounds: tuple[int, int]) -> int:
    """``value`` clamped into ``bounds`` (inclusive); a non-integer is truncated toward zero, NaN is 0."""
    low, high = bounds
    if type(value) is not int:
        try:
            value = int(value)
        except OverflowError:  # an infinity
            return high if value > 0 else low
        except (TypeError, ValueError, ArithmeticError):  # NaN, or not a number at all
            return 0
    return low if value < low else high if value > high else value


def real(value: float, default: float | None) -> float | None:
    """``value`` as a finite float, or ``default`` (the column's NULL or 0.0) when it is NaN or infinite."""
    if type(value) is float:
        return value if math.isfinite(value) else default
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double's range
        return sys.float_info.max if value > 0 else -sys.float_info.max
    except (TypeError, ValueError, ArithmeticError):
        return default
    return number if math.isfinite(number) else default


def money(value: Decimal, precision: int = 24, scale: int = 12) -> Decimal:
    """A cost that fits ``numeric(precision, scale)``: rounded half-up to ``scale`` places, in ``[0, 10**(p-s))``."""
    if not isinstance(value, Decimal):
        try:
            value = Decimal(value)  # an int or float handed in by mistake
        except (TypeError, ValueError, ArithmeticError):
            return _ZERO
    if value.is_nan() or value <= 0:
        return _ZERO
    step, top = (_STEP, _TOP) if (precision, scale) == (24, 12) else _bounds(precision, scale)
    if value >= top:
        return top
    return value.quantize(step, rounding=ROUND_HALF_UP)


def _bounds(precision: int, scale: int) -> tuple[Decimal, Decimal]:
    step = Decimal(1).scaleb(-scale)
    return step, Decimal(10) ** (precision - scale) - step


_STEP, _TOP = _bounds(24, 12)  # numeric(24, 12), the type of every money column
MONEY_MAX = _TOP  # the largest amount a money column holds; sums of amounts saturate there (leases_repo)


@dataclasses.dataclass(frozen=True, slots=True)
class JsonLimits:
    text_cap: int = 1000  # characters per string (and per key)
    max_items: int = 64  # per list or object, the marker for the rest included
    max_depth: int = 8
    max_nodes: int = 1024  # values in all; past it, containers are cut short


class _Budget:
    """Nodes left for one ``json_value`` call; it lives only for that call."""

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes


def json_value(value: object, limits: JsonLimits = JsonLimits()) -> Any:
    """``value`` as JSON that orjson can write and jsonb accepts (see the module docstring).

    A value within ``limits`` (markers count as nodes) comes back equal, so the result passes unchanged again.
    """
    return _json(value, limits, 0, _Budget(max(limits.max_nodes, 1)))


def _json(value: object, limits: JsonLimits, depth: int, budget: _Budget) -> Any:
    budget.nodes -= 1  # the caller leaves at least one node for this value
    if type(value) is dict and _flat_and_storable(value, limits, depth, budget.nodes):
        budget.nodes -= len(value)
        return value  # the common case (a flat record of short fields) is neither rebuilt nor copied
    if isinstance(value, str):
        return text(value, limits.text_cap)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return integer(value, INT8)
    if isinstance(value, float):
        return real(value, None)
    if not isinstance(value, Mapping | list | tuple):
        return text(str(value), limits.text_cap)  # Decimal, datetime, bytes...: their readable form
    items = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
    if depth >= limits.max_depth:
        return f"{MARKER}nested deeper than {limits.max_depth}]"
    if items and budget.nodes < 1:  # no room for an item nor for the marker: the marker stands in for it all
        return f"{MARKER}{len(items)} more items]"
    room = len(items) if len(items) <= limits.max_items else limits.max_items - 1  # the marker takes the last
    kept: list[tuple[Any, Any]] = []
    for index, (key, item) in enumerate(items[:room]):
        last = index == len(items) - 1
        if budget.nodes < (1 if last else 2):  # room for the item, and for the marker should a later one not fit
            break
        budget.nodes -= 0 if last else 1
        kept.append((key, _json(item, limits, depth + 1, budget)))
        budget.nodes += 0 if last else 1
    more = len(items) - len(kept)
    if more:
        budget.nodes -= 1
    if isinstance(value, Mapping):
        out = {text(key, limits.text_cap): item for key, item in kept}
        if more:
            out[MARKER.rstrip(": ") + "]"] = f"{more} more entries"
        return out
    listed = [item for _, item in kept]
    if more:
        listed.append(f"{MARKER}{more} more items]")
    return listed


def _flat_and_storable(value: dict[Any, Any], limits: JsonLimits, depth: int, nodes: int) -> bool:
    """True when ``value`` holds only short clean strings and storable numbers, within every limit."""
    if len(value) > limits.max_items or len(value) > nodes or (value and depth >= limits.max_depth):
        return False
    cap = limits.text_cap
    low, high = INT8
    for key, item in value.items():
        if type(key) is not str or len(key) > cap or "\x00" in key or not key.isascii():
            return False
        kind = type(item)
        if kind is str:
            if len(item) > cap or "\x00" in item or not item.isascii():
                return False
        elif kind is int:
            if not low <= item <= high:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif item is not None and kind is not bool:
            return False
    return True
