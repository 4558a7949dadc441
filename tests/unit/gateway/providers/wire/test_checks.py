"""The shared field checks: JSON's one number type, and the integer range orjson reads and writes back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import checks
from gateway.providers.wire.errors import WireError


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_a_whole_number_written_with_a_fraction_is_that_integer(value: int) -> None:
    taken = checks.integer(float(value), "max_tokens")
    assert taken == value and type(taken) is int


@pytest.mark.parametrize("value", [1.5, True, "3", None])
def test_a_fraction_a_boolean_or_a_string_is_not_an_integer(value: object) -> None:
    with pytest.raises(WireError, match="expected an integer"):
        checks.integer(value, "seed")


@pytest.mark.parametrize("value", [checks.INT_MAX + 1, float(2**64), checks.INT_MIN - 1, -1e300])
def test_an_integer_orjson_could_not_write_back_is_refused_as_out_of_range(value: float) -> None:
    with pytest.raises(WireError, match="must be at"):
        checks.integer(value, "seed")


def test_the_bounds_of_the_integer_range_are_integers() -> None:
    assert checks.integer(checks.INT_MAX, "seed") == checks.INT_MAX
    assert checks.integer(checks.INT_MIN, "seed") == checks.INT_MIN
