"""Lease sizes: what a replica asks for follows its demand, and a grant never takes more than its share."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway.accounting import sizing

money = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)


@given(money, money, money)
def test_a_grant_never_exceeds_what_is_free_and_covers_the_need_when_it_can(
    free: Decimal, need: Decimal, want: Decimal
) -> None:
    grant = sizing.share(sizing.Sizing(), free, need, want)
    assert 0 <= grant <= max(free, Decimal(0))
    if free >= need:
        assert grant >= need
    assert grant <= max(need, free / 4)  # beyond the need, at most a quarter of what is free


def test_near_the_limit_grants_shrink_so_other_replicas_still_get_some() -> None:
    free = Decimal(1)
    grants = []
    for _ in range(5):
        grant = sizing.share(sizing.Sizing(), free, Decimal("0.01"), Decimal(10))
        grants.append(grant)
        free -= grant
    assert grants == sorted(grants, reverse=True)
    assert free > 0


def test_demand_rate_decays_when_traffic_stops() -> None:
    rate = sizing.Rate()
    for t in range(60):
        rate = rate.add(1.0, float(t), 20.0)
    busy = rate.value(60.0, 20.0)
    assert 0.9 < busy < 1.0  # one unit per second, almost fully warmed up after three time constants
    assert rate.value(160.0, 20.0) < busy / 100


def test_a_first_chunk_covers_a_burst_of_requests_like_the_current_one() -> None:
    assert sizing.chunk_usd(sizing.Sizing(), 0.0, Decimal("0.02")) == Decimal("0.32")
    assert sizing.chunk_count(sizing.Sizing(), 0.0, 1) == 16
