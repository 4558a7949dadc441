"""How long an upstream asks us to wait, read from response headers (pure: `now` is an input).

Order of trust: `retry-after-ms` (OpenAI's finer hint), `Retry-After` (delta-seconds or an HTTP-date), then the
per-window reset headers: OpenAI's Go-style durations (`x-ratelimit-reset-requests: 6m0s`) and Anthropic's
RFC 3339 instants (`anthropic-ratelimit-requests-reset`). Among reset hints, exhausted windows win.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_OPENAI_WINDOWS = ("requests", "tokens")
_ANTHROPIC_WINDOWS = ("requests", "tokens", "input-tokens", "output-tokens")


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names folded to lower case (the first value wins), so plain dicts behave like the client's."""
    folded: dict[str, str] = {}
    for name, value in headers.items():
        folded.setdefault(name.lower(), value)
    return folded


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration such as `1s`, `6m0s`, `20ms` or `1h2m3.5s`; None if malformed."""
    text = text.strip()
    if not text:
        return None
    parts = _DURATION_PART.findall(text)
    if "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def parse_retry_after(value: str, *, now: datetime) -> float | None:
    """Seconds from a `Retry-After` value: delta-seconds or an HTTP-date (never negative); None if malformed."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None or now.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_instant(value: str, *, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _pick(hints: list[tuple[bool, float]]) -> float | None:
    exhausted = [seconds for is_exhausted, seconds in hints if is_exhausted]
    chosen = exhausted or [seconds for _, seconds in hints]
    return max(chosen) if chosen else None


def reset_hint(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """Seconds until the relevant rate-limit window resets, from OpenAI or Anthropic reset headers."""
    folded = lower_keys(headers)
    hints: list[tuple[bool, float]] = []
    for window in _OPENAI_WINDOWS:
        raw = folded.get(f"x-ratelimit-reset-{window}")
        seconds = parse_duration(raw) if raw is not None else None
        if seconds is not None:
            hints.append((folded.get(f"x-ratelimit-remaining-{window}", "").strip() == "0", seconds))
    for window in _ANTHROPIC_WINDOWS:
        raw = folded.get(f"anthropic-ratelimit-{window}-reset")
        seconds = _parse_instant(raw, now=now) if raw is not None else None
        if seconds is not None:
            remaining = folded.get(f"anthropic-ratelimit-{window}-remaining", "").strip()
            hints.append((remaining == "0", seconds))
    return _pick(hints)


def retry_after(headers: Mapping[str, str], *, now: datetime, use_reset_hints: bool) -> float | None:
    """The wait an upstream asked for, or None when it gave no usable hint."""
    folded = lower_keys(headers)
    raw_ms = folded.get("retry-after-ms")
    if raw_ms is not None:
        milliseconds = parse_retry_after(raw_ms, now=now) if _is_number(raw_ms) else None
        if milliseconds is not None:
            return milliseconds / 1000.0
    raw = folded.get("retry-after")
    if raw is not None:
        seconds = parse_retry_after(raw, now=now)
        if seconds is not None:
            return seconds
    return reset_hint(folded, now=now) if use_reset_hints else None
