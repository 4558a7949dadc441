from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.accounting import pricing

# Claude-like prices per 1K: input 0.003, output 0.015, cache reads a tenth of input, cache writes 1.25 times.
CLAUDE = pricing.Prices.of(0.003, 0.015, cache_read_per_1k=0.0003, cache_write_per_1k=0.00375)


def test_cache_reads_and_writes_are_charged_at_their_own_prices() -> None:
    cost = CLAUDE.cost(1000, 200, cache_read_tokens=50_000, cache_write_tokens=8_000)
    assert cost == Decimal("0.003") + Decimal("0.003") + Decimal("0.015") + Decimal("0.03")
    assert cost == Decimal("0.051")


def test_without_cache_prices_cached_tokens_cost_the_input_price() -> None:
    prices = pricing.Prices.of(0.00015, 0.0006)
    assert prices.cache_read == prices.cache_write == Decimal("0.00015")
    assert prices.cost(1_000, 0, cache_read_tokens=234) == prices.cost(1_234, 0) == Decimal("0.0001851")


def test_free_cache_reads_cost_nothing() -> None:
    prices = pricing.Prices.of(0.001, 0.002, cache_read_per_1k=0.0)
    assert prices.cost(0, 0, cache_read_tokens=1_000_000) == 0


def test_the_bound_covers_the_dearest_way_the_input_can_be_billed() -> None:
    assert CLAUDE.bound(8_000, 200) == CLAUDE.cost(0, 200, cache_write_tokens=8_000)
    cheap_writes = pricing.Prices.of(0.003, 0.015, cache_write_per_1k=0.001)
    assert cheap_writes.bound(8_000, 200) == cheap_writes.cost(8_000, 200)


def test_negative_counts_and_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="token counts"):
        CLAUDE.cost(10, 10, cache_read_tokens=-1)
    with pytest.raises(ValueError, match="prices"):
        pricing.Prices.of(0.001, 0.001, cache_write_per_1k=-0.5)


usd = st.decimals(min_value=0, max_value=1000, places=8, allow_nan=False, allow_infinity=False).map(float)
maybe_usd = st.none() | usd
count = st.integers(0, 10**9)


def exact(value: float) -> Fraction:
    return Fraction(repr(value))


@given(usd, usd, maybe_usd, maybe_usd, count, count, count, count)
def test_cost_is_exact_and_never_negative(
    input_price: float,
    output_price: float,
    read_price: float | None,
    write_price: float | None,
    uncached: int,
    output: int,
    read: int,
    written: int,
) -> None:
    prices = pricing.Prices.of(input_price, output_price, read_price, write_price)
    cost = prices.cost(uncached, output, cache_read_tokens=read, cache_write_tokens=written)
    read_at = exact(input_price if read_price is None else read_price)
    write_at = exact(input_price if write_price is None else write_price)
    expected = (
        exact(input_price) * uncached + exact(output_price) * output + read_at * read + write_at * written
    ) / 1000
    assert Fraction(cost) == expected
    assert cost >= 0


@given(usd, usd, maybe_usd, maybe_usd, count, count, st.data())
def test_no_split_of_the_input_costs_more_than_the_bound(
    input_price: float,
    output_price: float,
    read_price: float | None,
    write_price: float | None,
    total_input: int,
    output: int,
    data: st.DataObject,
) -> None:
    prices = pricing.Prices.of(input_price, output_price, read_price, write_price)
    read = data.draw(st.integers(0, total_input))
    written = data.draw(st.integers(0, total_input - read))
    cost = prices.cost(total_input - read - written, output, cache_read_tokens=read, cache_write_tokens=written)
    assert cost <= prices.bound(total_input, output)
