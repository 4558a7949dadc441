"""The local ledger admits only from what it holds, and no interleaving of its operations creates budget."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.accounting import errors, ledger, sizing
from gateway.accounting.values import Estimate, KeyRef, Limits, Refusal, Reservation, Shortfall, period_of

KEY = KeyRef("ns", "key")
NOW = dt.datetime(2031, 5, 14, 12, 0, 5, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)
CENT = Decimal("0.01")


@dataclasses.dataclass
class Store:
    """A model of the Postgres side for one key: grants a share of what is free, takes back releases."""

    limit: Decimal
    charged: Decimal = Decimal(0)
    outstanding: dict[str, Decimal] = dataclasses.field(default_factory=dict)

    def grant(self, holder: str, need: Decimal, want: Decimal) -> tuple[Decimal, Decimal]:
        free = self.limit - self.charged - sum(self.outstanding.values(), Decimal(0))
        amount = sizing.share(sizing.Sizing(), free, need, want)
        self.outstanding[holder] = self.outstanding.get(holder, Decimal(0)) + amount
        return amount, free - amount

    def charge(self, holder: str, cost: Decimal) -> None:
        self.charged += cost
        self.outstanding[holder] = max(self.outstanding[holder] - cost, Decimal(0))

    def release(self, holder: str, amount: Decimal) -> None:
        self.outstanding[holder] -= amount


operation = st.tuples(
    st.sampled_from(["admit", "settle", "grant", "release", "cancel", "extend"]),
    st.integers(0, 2),  # which replica
    st.integers(1, 40),  # cents: an estimate, a grant wish
    st.integers(0, 100),  # percent of the estimate actually spent
)


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=80), st.integers(10, 200))
def test_no_interleaving_of_admit_settle_grant_and_release_spends_beyond_the_limit(
    ops: list[tuple[str, int, int, int]], limit_cents: int
) -> None:
    limit = limit_cents * CENT
    limits = Limits(budget_usd=limit)
    store = Store(limit)
    replicas = [ledger.Ledger(f"pod-{i}") for i in range(3)]
    open_: list[list[Reservation]] = [[], [], []]
    for name, i, cents, percent in ops:
        book, holder = replicas[i], f"pod-{i}"
        if name == "admit":
            verdict = book.admit(KEY, limits, Estimate(cents * CENT, 1), NOW)
            if isinstance(verdict, Reservation):
                open_[i].append(verdict)
        elif name == "grant":
            book.state(KEY, limits)
            amount, free_after = store.grant(holder, Decimal(0), cents * CENT)
            book.grant_budget(KEY, period_of(NOW), amount, free_after, LATER, NOW)
        elif name == "release":
            for key, _, amount in book.take_releasable(NOW, None):
                assert key == KEY and amount > 0
                store.release(holder, amount)
        elif name == "extend" and open_[i]:
            grown = book.extend(open_[i][0], cents * CENT, NOW)  # a failover after a charged attempt
            if isinstance(grown, Reservation):
                assert grown.id == open_[i][0].id and grown.cost_usd == open_[i][0].cost_usd + cents * CENT
                open_[i][0] = grown
        elif open_[i]:
            reservation = open_[i].pop(0)
            if name == "cancel":
                book.cancel(reservation)
            else:
                cost = (reservation.cost_usd * percent / 100).quantize(Decimal("1e-12"))
                charge = book.settle(reservation, cost, 1)
                if charge is not None:
                    store.charge(holder, charge.cost_usd)
        reserved = sum((r.cost_usd for rs in open_ for r in rs), Decimal(0))
        # Admitted and not yet settled, plus charged, never exceeds the limit.
        assert store.charged + reserved <= limit
        for j, other in enumerate(replicas):
            budget = other.state(KEY, limits).budgets.get(period_of(NOW))
            if budget is not None:
                # A replica never holds more than the store leased it, nor reserves beyond it.
                assert budget.free >= 0
                assert budget.free + budget.reserved <= store.outstanding.get(f"pod-{j}", Decimal(0))


def test_admit_answers_shortfall_when_nothing_is_held_and_refusal_once_the_store_is_empty() -> None:
    book = ledger.Ledger("pod-0")
    limits = Limits(budget_usd=Decimal(1))
    first = book.admit(KEY, limits, Estimate(Decimal("0.3"), 1), NOW)
    assert first == Shortfall(budget_usd=Decimal("0.3"))
    book.grant_budget(KEY, period_of(NOW), Decimal("0.5"), Decimal(0), LATER, NOW)
    assert isinstance(book.admit(KEY, limits, Estimate(Decimal("0.3"), 1), NOW), Reservation)
    refused = book.admit(KEY, limits, Estimate(Decimal("0.3"), 1), NOW)
    assert isinstance(refused, Refusal) and refused.reason == "budget"


def test_a_lease_past_its_expiry_admits_nothing_more() -> None:
    book = ledger.Ledger("pod-0")
    limits = Limits(budget_usd=Decimal(1))
    book.admit(KEY, limits, Estimate(CENT, 1), NOW)
    book.grant_budget(KEY, period_of(NOW), Decimal("0.5"), Decimal("0.5"), NOW + dt.timedelta(seconds=60), NOW)
    late = NOW + dt.timedelta(seconds=61)
    assert isinstance(book.admit(KEY, limits, Estimate(CENT, 1), late), Shortfall)


def test_settling_twice_is_refused() -> None:
    book = ledger.Ledger("pod-0")
    reservation = book.admit(KEY, Limits(), Estimate(CENT, 1), NOW)
    assert isinstance(reservation, Reservation)
    assert book.settle(reservation, CENT, 1) is None  # no budget: nothing to charge
    with pytest.raises(errors.AlreadySettled):
        book.settle(reservation, CENT, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 30)), max_size=60), st.integers(1, 50))
def test_replicas_admit_no_more_requests_in_a_minute_than_the_store_granted(
    asks: list[tuple[int, int]], rpm: int
) -> None:
    limits = Limits(rpm=rpm)
    replicas = [ledger.Ledger(f"pod-{i}") for i in range(3)]
    window = int(NOW.timestamp() // 60)
    granted = 0
    admitted = 0
    for i, want in asks:
        verdict = replicas[i].admit(KEY, limits, Estimate(Decimal(0), 0), NOW)
        if isinstance(verdict, Reservation):
            admitted += 1
        elif isinstance(verdict, Shortfall):
            left = rpm - granted
            amount = min(left, max(1, min(want, -(-left // 4))))
            granted += amount
            replicas[i].grant_window(KEY, window, amount, 0, rpm - granted, None)
        assert admitted <= granted <= rpm


def test_an_extended_reservation_settles_as_extended_and_only_from_what_is_held() -> None:
    book = ledger.Ledger("pod-0")
    limits = Limits(budget_usd=Decimal(1))
    book.admit(KEY, limits, Estimate(Decimal("0.3"), 1), NOW)
    book.grant_budget(KEY, period_of(NOW), Decimal("0.5"), Decimal("0.5"), LATER, NOW)
    first = book.admit(KEY, limits, Estimate(Decimal("0.3"), 1), NOW)
    assert isinstance(first, Reservation)
    assert book.extend(first, Decimal("0.3"), NOW) == Shortfall(budget_usd=Decimal("0.1"))  # 0.2 held
    grown = book.extend(first, Decimal("0.2"), NOW)
    assert isinstance(grown, Reservation) and grown.cost_usd == Decimal("0.5") and grown.id == first.id
    assert book.reserved(KEY, period_of(NOW)) == Decimal("0.5")
    charge = book.settle(first, Decimal("0.45"), 1)  # the stale value: the ledger settles what it holds open
    assert charge is not None and charge.cost_usd == Decimal("0.45")
    budget = book.state(KEY, limits).budgets[period_of(NOW)]
    assert (budget.reserved, budget.free) == (Decimal(0), Decimal("0.05"))
    with pytest.raises(errors.AlreadySettled):
        book.extend(first, CENT, NOW)
