"""When Postgres cannot be reached, a replica keeps serving from the leases it holds, then refuses clearly
(fail closed) - or, when configured fail-open, admits unleased and still charges once Postgres is back."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from gateway.accounting import leases
from gateway.accounting.values import Estimate, KeyRef, Limits, Refusal, Reservation
from gateway.store import leases_repo
from tests.integration import lease_replicas
from tests.plugins.pg import Outage

KEY = KeyRef("team-a", "carol")
LIMITS = Limits(budget_usd=Decimal("1.00"))
ESTIMATE = Estimate(Decimal("0.01"), 10)


def replica(url: str, holder: str, *, fail_open: bool = False) -> leases.LeaseManager:
    settings = leases.LeaseSettings(fail_open=fail_open, acquire_timeout_s=5.0)
    return lease_replicas.replica(url, holder, lease_replicas.Clock(), settings)


async def test_a_held_lease_keeps_serving_then_the_replica_fails_closed(database_url: str, outage: Outage) -> None:
    r = replica(database_url, "pod-0")
    try:
        first = await r.admit(KEY, LIMITS, ESTIMATE)
        assert isinstance(first, Reservation)
        held = r.held(KEY)
        assert held > 0
        await outage.switch(True)
        served = [await r.admit(KEY, LIMITS, ESTIMATE) for _ in range(int(held / ESTIMATE.cost_usd))]
        assert all(isinstance(v, Reservation) for v in served)
        refused = await r.admit(KEY, LIMITS, ESTIMATE)
        assert isinstance(refused, Refusal) and refused.reason == "unavailable"
        assert "unreachable" in refused.message
    finally:
        await r.close()


async def test_fail_open_admits_without_a_lease_and_charges_when_postgres_returns(
    database_url: str, outage: Outage
) -> None:
    await outage.switch(True)
    r = replica(database_url, "pod-0", fail_open=True)
    try:
        admitted = await r.admit(KEY, LIMITS, ESTIMATE)
        assert isinstance(admitted, Reservation) and not admitted.leased
        assert r.stats.admitted_unleased == 1
        charge = r.settle(admitted, Decimal("0.004"), 10)
        assert charge is not None
    finally:
        await r.close()
    await outage.switch(False)
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        key = leases_repo.BudgetKey(KEY.namespace, KEY.name, charge.period)
        await leases_repo.charge(
            conn, [leases_repo.ChargeRow(charge.reservation_id, key, charge.holder, Decimal("0.004"))]
        )
    later = replica(database_url, "pod-1")
    try:
        assert isinstance(await later.admit(KEY, LIMITS, ESTIMATE), Reservation)
    finally:
        await later.close()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        use = await leases_repo.usage(conn, key)
    assert use is not None and use.spent == Decimal("0.004")  # the fail-open request counts against the budget
