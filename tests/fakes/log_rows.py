"""Hypothesis strategies for request-log rows and charges holding anything a client or an upstream could put there:
NUL, lone surrogates, huge and negative integers, NaN and infinite floats, huge Decimals - in every field."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from gateway.accounting import values
from gateway.store import logs_repo

# Longer than any text column's cap, built cheaply (hypothesis draws each character of a text one by one).
long_texts = st.builds(lambda piece, n: piece * n, st.sampled_from(["a", "\x00", "é\ud800"]), st.integers(1000, 5000))
texts = (
    st.text(alphabet=st.one_of(st.characters(codec=None), st.sampled_from("\x00\ud800\udbff\udc00\\é")), max_size=40)
    | long_texts
)
optional_texts = st.none() | texts
integers = st.integers() | st.sampled_from([3_000_000_000, -1, -(2**31) - 1, 2**63, -(2**80)])
floats = st.floats() | st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308])
decimals = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [Decimal("1E+40"), Decimal("-5"), Decimal("0.0000000000005"), Decimal("999999999999.9999999999999")]
)
json_leaves = st.none() | st.booleans() | integers | floats | texts | decimals
attempts = st.lists(
    st.dictionaries(texts, st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=3), max_leaves=5)),
    max_size=3,
).map(tuple)
times = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))


def unique_ids(prefix: str) -> st.SearchStrategy[str]:
    """Ids no other drawn row shares (log and reservation ids are made unique by the gateway)."""
    counter = itertools.count()
    return st.builds(lambda: f"{prefix}-{next(counter)}")


@st.composite
def rows(draw: st.DrawFn, log_ids: st.SearchStrategy[str] | None = None) -> logs_repo.RequestLogRow:
    fields: dict[str, Any] = {
        "request_id": draw(texts),
        "created_at": draw(times),
        "endpoint": draw(texts),
        "status": draw(integers),
        "latency_ms": draw(floats),
        "key_id": draw(optional_texts),
        "key_namespace": draw(optional_texts),
        "key_name": draw(optional_texts),
        "model": draw(optional_texts),
        "provider": draw(optional_texts),
        "upstream_model": draw(optional_texts),
        "mode": draw(optional_texts),
        "stream": draw(st.booleans()),
        "error_class": draw(optional_texts),
        "error_message": draw(optional_texts),
        "input_tokens": draw(integers),
        "output_tokens": draw(integers),
        "usage_estimated": draw(st.booleans()),
        "cost_usd": draw(decimals),
        "ttft_ms": draw(st.none() | floats),
        "overhead_ms": draw(st.none() | floats),
        "decision": draw(optional_texts),
        "attempts": draw(attempts),
    }
    if log_ids is not None:
        fields["log_id"] = draw(log_ids)
    return logs_repo.RequestLogRow(**fields)


@st.composite
def charges(draw: st.DrawFn, reservation_ids: st.SearchStrategy[str], cost: Decimal | None = None) -> values.Charge:
    names = st.sampled_from(["team", "2026-11", "\x00"]) | texts  # a few common names: charges share leases
    return values.Charge(
        reservation_id=draw(reservation_ids),
        key=values.KeyRef(draw(names), draw(names)),
        period=draw(names),
        holder=draw(names),
        cost_usd=draw(decimals) if cost is None else cost,
    )
