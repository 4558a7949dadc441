"""Parsing of the wait hints upstreams send with rate limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers import retry_hints

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5s", 0.5),
        ("", None),
        ("6 minutes", None),
        ("1x", None),
        ("s", None),
    ],
)
def test_go_style_durations_read_as_seconds(text: str, seconds: float | None) -> None:
    parsed = retry_hints.parse_duration(text)
    assert parsed == (pytest.approx(seconds) if seconds is not None else None)


def test_an_http_date_retry_after_counts_from_now() -> None:
    assert retry_hints.parse_retry_after("Thu, 01 Jan 2026 12:01:00 GMT", now=NOW) == 60.0


def test_an_http_date_needs_an_aware_now() -> None:
    assert retry_hints.parse_retry_after("Thu, 01 Jan 2026 12:01:00 GMT", now=NOW.replace(tzinfo=None)) is None


def test_a_negative_delta_means_retry_now() -> None:
    assert retry_hints.parse_retry_after("-4", now=NOW) == 0.0


def test_header_names_are_matched_whatever_their_case() -> None:
    assert retry_hints.retry_after({"RETRY-AFTER": "2"}, now=NOW, use_reset_hints=False) == 2.0


@given(seconds=st.integers(min_value=0, max_value=10**6))
def test_delta_seconds_round_trip(seconds: int) -> None:
    assert retry_hints.parse_retry_after(str(seconds), now=NOW) == float(seconds)
