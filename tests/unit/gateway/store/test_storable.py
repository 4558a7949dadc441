"""Every value becomes one Postgres stores: text without NUL or lone surrogates within its cap, numbers within
their column's range, JSON that orjson writes and jsonb accepts - and a storable value passes unchanged."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store import storable

# Text as clients and upstreams send it, weighted towards the characters Postgres refuses.
texts = st.text(alphabet=st.one_of(st.characters(codec=None), st.sampled_from("\x00\ud800\udfff\\ué")), max_size=300)
caps = st.integers(min_value=32, max_value=400)
TOP = Decimal("999999999999.999999999999")  # numeric(24, 12)


def clean(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def test_nul_and_lone_surrogates_become_visible_escapes() -> None:
    assert storable.text("policy has unknown fields: \x00", 100) == "policy has unknown fields: \\u0000"
    assert storable.text("a\ud800b\udfffc", 100) == "a\\ud800b\\udfffc"


def test_a_long_text_is_cut_to_its_cap_with_a_marker_saying_how_long_it_was() -> None:
    cut = storable.text("x" * 5000, 100)
    assert len(cut) == 100
    assert cut.startswith("x" * 70) and cut.endswith("…[truncated: 5000 chars]")


@given(value=texts, cap=caps)
def test_text_is_storable_within_its_cap_and_stable(value: str, cap: int) -> None:
    stored = storable.text(value, cap)
    assert clean(stored)
    stored.encode("utf-8")  # would raise for a lone surrogate
    assert len(stored) <= cap
    assert storable.text(stored, cap) == stored
    if clean(value) and len(value) <= cap:
        assert stored == value


@given(value=st.one_of(st.integers(), st.floats()))
def test_integers_are_clamped_into_the_column_range(value: Any) -> None:
    low, high = storable.INT4
    stored = storable.integer(value, storable.INT4)
    assert type(stored) is int and low <= stored <= high
    if isinstance(value, int) and low <= value <= high:
        assert stored == value


@pytest.mark.parametrize(
    ("value", "bounds", "expected"),
    [
        (3_000_000_000, storable.COUNT4, 2**31 - 1),  # an upstream's absurd completion_tokens
        (-7, storable.COUNT4, 0),  # a negative token count
        (2**70, storable.INT8, 2**63 - 1),
        (float("inf"), storable.INT4, 2**31 - 1),
        (float("-inf"), storable.INT4, -(2**31)),
        (float("nan"), storable.INT4, 0),
    ],
)
def test_out_of_range_integers_take_the_nearest_bound(value: Any, bounds: tuple[int, int], expected: int) -> None:
    assert storable.integer(value, bounds) == expected


@given(value=st.one_of(st.floats(), st.integers()))
def test_floats_are_finite_or_the_default(value: float) -> None:
    stored = storable.real(value, None)
    assert stored is None or math.isfinite(stored)
    if isinstance(value, float) and math.isfinite(value):
        assert stored == value
    assert storable.real(float("nan"), 0.0) == 0.0


money_values = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=0, max_value=TOP, places=12),
    st.integers(min_value=-(10**40), max_value=10**40).map(Decimal),
    st.sampled_from([Decimal("sNaN"), Decimal("1E+999999"), Decimal("-1E-999999"), TOP + Decimal("1E-13")]),
)


@given(value=money_values)
def test_money_fits_numeric_24_12_and_is_never_negative(value: Decimal) -> None:
    stored = storable.money(value)
    assert Decimal(0) <= stored <= TOP
    assert stored == stored.quantize(Decimal("1E-12"))
    assert storable.money(stored) == stored
    if not value.is_nan() and Decimal(0) <= value <= TOP and value == value.quantize(Decimal("1E-12")):
        assert stored == value


@given(a=money_values, b=money_values)
def test_money_keeps_the_order_of_costs(a: Decimal, b: Decimal) -> None:
    if not a.is_nan() and not b.is_nan() and a <= b:
        assert storable.money(a) <= storable.money(b)


def test_money_rounds_half_up_and_clamps() -> None:
    assert storable.money(Decimal("0.0000000000015")) == Decimal("0.000000000002")
    assert storable.money(Decimal("1e30")) == TOP
    assert storable.money(Decimal("-0.5")) == 0
    assert storable.money(Decimal("NaN")) == 0


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    texts,
    st.decimals(allow_nan=True),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(texts, inner, max_size=5)),
    max_leaves=30,
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


@given(value=json_values)
def test_json_is_written_by_orjson_without_nul_or_surrogates_and_is_stable(value: Any) -> None:
    stored = storable.json_value(value)
    dumped = orjson.dumps(stored)  # raises for a surrogate, an int beyond 64 bits, a Decimal
    assert orjson.loads(dumped) == stored
    assert all(clean(s) for s in strings_in(stored))
    assert storable.json_value(stored) == stored


def test_json_containers_are_bounded_with_a_marker() -> None:
    limits = storable.JsonLimits(max_items=4, max_depth=2)
    assert storable.json_value(list(range(10)), limits) == [0, 1, 2, "…[truncated: 7 more items]"]
    assert storable.json_value({"a": {"b": {"c": 1}}}, limits) == {"a": {"b": "…[truncated: nested deeper than 2]"}}
    cut = storable.json_value({str(n): n for n in range(10)}, limits)
    assert cut == {"0": 0, "1": 1, "2": 2, "…[truncated]": "7 more entries"}
    assert len(orjson.dumps(storable.json_value([[["x" * 5000] * 100] * 100] * 100))) < 1_100_000
