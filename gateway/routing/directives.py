"""In-band ``@@tokenhub`` directives: parsed from system and user turns (in order, each key's last value
wins, so a later user turn overrides the system prompt) and stripped from them; other turns stay untouched.
A directive is a line starting with the marker: ``@@tokenhub k=v k=v``, or the marker alone, then one
``k=v`` per line up to ``@@end`` (values may hold spaces). Any malformed directive is an error naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from gateway.routing import errors, modes

MARKER = "@@tokenhub"
END = "@@end"
READ_ROLES = frozenset({"system", "user"})
MAX_BUDGET_USD = 100.0
MAX_LATENCY_MS = 600_000
MAX_MODEL_NAME = 256


class _Invalid(ValueError):
    """A value of the right type outside its range; its text is the reason shown to the client."""


@dataclass(frozen=True, slots=True)
class Directives:
    mode: modes.Mode | None = None
    max_budget_usd: float | None = None
    max_latency_ms: int | None = None
    min_weight: int | None = None
    model: str | None = None
    output_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    directives: Directives
    texts: tuple[str, ...]  # every message's text, directives removed from system and user turns
    sources: tuple[int, ...] = ()  # the messages that carried a directive


def _mode(v: str) -> modes.Mode:
    try:
        return modes.Mode(v)
    except ValueError:
        raise _Invalid(f"must be one of {', '.join(m.value for m in modes.Mode)}") from None


def _budget(v: str) -> float:
    x = float(v)
    if not (math.isfinite(x) and 0 < x <= MAX_BUDGET_USD):
        raise _Invalid(f"must be a number in (0, {MAX_BUDGET_USD:g}]")
    return x


def _int_in(v: str, lo: int, hi: int) -> int:
    x = int(v)
    if not lo <= x <= hi:
        raise _Invalid(f"must be an integer in [{lo}, {hi}]")
    return x


def _model(v: str) -> str:
    if not v or len(v) > MAX_MODEL_NAME or any(ch.isspace() for ch in v):
        raise _Invalid(f"must be a model name of 1..{MAX_MODEL_NAME} characters without spaces")
    return v


def _schema(v: str) -> Mapping[str, Any]:
    try:
        schema = orjson.loads(v)
    except orjson.JSONDecodeError:
        raise _Invalid("must be a JSON object") from None
    if not isinstance(schema, dict):
        raise _Invalid("must be a JSON object")
    return schema


def _apply(d: Directives, key: str, value: str) -> Directives:
    try:
        if key == "mode":
            return replace(d, mode=_mode(value))
        if key in ("max_budget_usd", "budget"):
            return replace(d, max_budget_usd=_budget(value))
        if key in ("max_latency_ms", "latency"):
            return replace(d, max_latency_ms=_int_in(value, 1, MAX_LATENCY_MS))
        if key == "min_weight":
            return replace(d, min_weight=_int_in(value, 0, 10))
        if key == "model":
            return replace(d, model=_model(value))
        if key == "output_schema":
            return replace(d, output_schema=_schema(value))
    except _Invalid as exc:
        raise errors.DirectiveError(key, f"{value[:64]!r} {exc}") from None
    except ValueError:
        raise errors.DirectiveError(key, f"{value[:64]!r} is not a valid number") from None
    raise errors.DirectiveError(key, "unknown key")


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise errors.DirectiveError(item[:64], "expected key=value")
    return key.strip(), value.strip()


def _scan(text: str) -> tuple[list[tuple[str, str]], str]:
    """The (key, value) pairs of one message, in order, and the message without its directive lines."""
    lines = text.splitlines(keepends=True)
    pairs: list[tuple[str, str]] = []
    kept: list[str] = []
    k = 0
    while k < len(lines):
        line = lines[k]
        body = line.strip()
        if not body.startswith(MARKER):
            kept.append(line)
            k += 1
            continue
        rest = body[len(MARKER) :]
        if rest and not rest[0].isspace():
            kept.append(line)  # e.g. "@@tokenhubx": not our marker
            k += 1
            continue
        if rest.strip():
            pairs.extend(_pair(item) for item in rest.split())
            k += 1
            continue
        end = next((j for j in range(k + 1, len(lines)) if lines[j].strip() == END), None)
        if end is None:
            raise errors.DirectiveError(MARKER, "block has no closing @@end line")
        pairs.extend(_pair(x.strip()) for x in lines[k + 1 : end] if x.strip())
        k = end + 1
    return pairs, "".join(kept)


def parse(messages: Sequence[tuple[str, str]]) -> Parsed:
    """Parse ``(role, text)`` messages; raises ``errors.DirectiveError`` on the first malformed directive."""
    d = Directives()
    texts: list[str] = []
    sources: list[int] = []
    for n, (role, text) in enumerate(messages):
        if role not in READ_ROLES or MARKER not in text:
            texts.append(text)
            continue
        pairs, stripped = _scan(text)
        if stripped != text:
            sources.append(n)
        for key, value in pairs:
            d = _apply(d, key, value)
        texts.append(stripped)
    return Parsed(d, tuple(texts), tuple(sources))
