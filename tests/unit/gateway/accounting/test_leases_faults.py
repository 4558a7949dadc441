"""The lease manager meeting store faults through its backend seam: refusals instead of errors, and a refill
loop that, restarted by the supervisor after a failure, still serves the keys that were waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from gateway.accounting import leases
from gateway.accounting.values import Estimate, KeyRef, Limits, Refusal, Reservation
from gateway.serving import supervisor
from gateway.store import errors
from gateway.store.leases_repo import BudgetGrant, BudgetKey, WindowAsk, WindowGrant

NOW = dt.datetime(2031, 5, 14, 12, 0, 5, tzinfo=dt.UTC)
LIMITS = Limits(budget_usd=Decimal("1.00"))
ESTIMATE = Estimate(Decimal("0.01"), 10)


class FakeBackend:
    """Grants one estimate's worth per call; ``fault`` is raised by the next grant, once."""

    def __init__(self) -> None:
        self.fault: Exception | None = None
        self.grants: dict[str, int] = {}
        self.granted = asyncio.Event()
        self.want_grants = 0

    @property
    def statements(self) -> int:
        return 0

    async def acquire_budget(
        self,
        key: BudgetKey,
        *,
        holder: str,
        limit: Decimal,
        expires_at: dt.datetime,
        size: Callable[[Decimal], Decimal],
    ) -> BudgetGrant:
        if self.fault is not None:
            fault, self.fault = self.fault, None
            raise fault
        self.grants[key.name] = self.grants.get(key.name, 0) + 1
        if sum(self.grants.values()) >= self.want_grants:
            self.granted.set()
        return BudgetGrant(size(ESTIMATE.cost_usd), limit, Decimal(0), ESTIMATE.cost_usd)

    async def acquire_window(
        self, namespace: str, name: str, window: int, *, rpm: int | None, tpm: int | None, ask: WindowAsk
    ) -> WindowGrant:
        raise AssertionError("no rate limits here")

    async def release_budget(self, key: BudgetKey, *, holder: str, amount: Decimal | None) -> None:
        return None

    async def held_by(self, holder: str) -> list[BudgetKey]:
        return []

    async def renew(self, *, holder: str, now: dt.datetime, expires_at: dt.datetime) -> set[BudgetKey]:
        return set()

    async def sweep(self, *, cutoff: dt.datetime, oldest_window: int) -> int:
        return 0

    async def close(self) -> None:
        return None


def manager(store: FakeBackend) -> leases.LeaseManager:
    return leases.LeaseManager(store, holder="pod-0", clock=lambda: NOW)


async def test_a_grant_postgres_refuses_becomes_a_refusal_not_an_error() -> None:
    store = FakeBackend()
    store.fault = errors.StatementRejected("lease store: numeric field overflow", "22003")
    m = manager(store)
    verdict = await m.admit(KeyRef("team", "a"), LIMITS, ESTIMATE)
    assert isinstance(verdict, Refusal) and verdict.reason == "unavailable"
    await m.close()


async def test_a_refill_loop_restarted_after_a_failure_serves_the_keys_still_waiting() -> None:
    store = FakeBackend()
    m = manager(store)
    keys = [KeyRef("team", "a"), KeyRef("team", "b")]
    for key in keys:  # each first admission takes the one-estimate grant and spends it: both want a refill
        assert isinstance(await m.admit(key, LIMITS, ESTIMATE), Reservation)
    store.fault = RuntimeError("injected: a bug in the refill path")
    store.want_grants = 3  # the two first grants, and the waiting key's refill after the restart
    store.granted.clear()

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    failures: list[str] = []
    loops = supervisor.Supervisor(on_failure=failures.append, sleep=no_wait)
    loops.start("lease-refill", m.run_refills)
    try:
        await asyncio.wait_for(store.granted.wait(), 5)
    finally:
        await loops.stop()
        await m.close()
    assert failures == ["lease-refill"]
    assert sorted(store.grants.values()) == [1, 2]  # the key whose refill failed is asked again when next used


class ContendedBackend(FakeBackend):
    """Other replicas take most of the budget first: every grant, answered at once, is a sliver while plenty
    stays free, so the request is still short when its deadline passes."""

    async def acquire_budget(
        self,
        key: BudgetKey,
        *,
        holder: str,
        limit: Decimal,
        expires_at: dt.datetime,
        size: Callable[[Decimal], Decimal],
    ) -> BudgetGrant:
        return BudgetGrant(Decimal("0.000001"), limit, Decimal(0), Decimal("0.5"))


async def test_a_key_whose_grants_cannot_cover_a_request_in_time_is_told_to_retry_not_that_its_budget_is_spent() -> (
    None
):
    m = leases.LeaseManager(
        ContendedBackend(), holder="pod-0", clock=lambda: NOW, settings=leases.LeaseSettings(acquire_timeout_s=0.1)
    )
    verdict = await m.admit(KeyRef("team", "a"), LIMITS, ESTIMATE)
    assert isinstance(verdict, Refusal)
    assert verdict.reason == "unavailable" and "retry" in verdict.message
    await m.close()
