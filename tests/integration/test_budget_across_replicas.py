"""Monthly budgets hold exactly across replicas: leases from Postgres, spent locally, charged with the log rows.

Several lease managers in one process stand for replicas: each has its own holder id and its own connection.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import psycopg

from gateway.accounting import leases
from gateway.accounting.values import Charge, Estimate, KeyRef, Limits, Refusal, Reservation
from gateway.store import leases_repo, logs_repo
from tests.integration.lease_replicas import START, Clock, replica, start_background

KEY = KeyRef("team-a", "alice")
PERIOD = "2031-05"


async def write_logs(url: str, charges: list[tuple[Charge, str]]) -> None:
    """What the log writer does per batch: the log rows and their charges in one transaction."""
    rows = [
        logs_repo.RequestLogRow(
            request_id=request_id,
            created_at=START,
            endpoint="chat.completions",
            status=200,
            latency_ms=1.0,
            key_namespace=c.key.namespace,
            key_name=c.key.name,
            cost_usd=c.cost_usd,
            log_id=c.reservation_id,  # one row per settled request: a replayed batch carries the same ids
        )
        for c, request_id in charges
    ]
    charge_rows = [
        leases_repo.ChargeRow(
            c.reservation_id, leases_repo.BudgetKey(c.key.namespace, c.key.name, c.period), c.holder, c.cost_usd, rid
        )
        for c, rid in charges
    ]
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await logs_repo.insert_batch(conn, rows)
        await leases_repo.charge(conn, charge_rows)


async def ledger_figures(url: str) -> tuple[leases_repo.Usage | None, Decimal, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        use = await leases_repo.usage(conn, leases_repo.BudgetKey(KEY.namespace, KEY.name, PERIOD))
        cur = await conn.execute(
            "SELECT coalesce(sum(cost_usd), 0) FROM request_logs WHERE key_namespace = %s AND key_name = %s",
            (KEY.namespace, KEY.name),
        )
        row = await cur.fetchone()
        cur = await conn.execute("SELECT count(*) FROM budget_leases")
        open_leases = await cur.fetchone()
    assert row is not None and open_leases is not None
    return use, Decimal(row[0]), int(open_leases[0])


async def test_three_replicas_bursting_on_one_key_never_spend_more_than_the_budget(database_url: str) -> None:
    clock = Clock()
    budget = Decimal("1.00")
    limits = Limits(budget_usd=budget)
    estimate = Estimate(Decimal("0.01"), 100)
    replicas = [replica(database_url, f"pod-{i}", clock) for i in range(3)]
    rng = random.Random(7)
    loops = start_background(replicas)
    try:
        # Round 1: every request of the burst is admitted or refused before any settles.
        verdicts = await asyncio.gather(*(r.admit(KEY, limits, estimate) for r in replicas for _ in range(80)))
        admitted = [v for v in verdicts if isinstance(v, Reservation)]
        refused = [v for v in verdicts if isinstance(v, Refusal)]
        assert sum(v.cost_usd for v in admitted) <= budget
        # Budget left stranded on each replica is below one estimate: at most 3 requests' worth unused.
        assert len(admitted) >= 97
        assert {v.reason for v in refused} == {"budget"}
        owner = {v.id: r for r in replicas for v in admitted if v.id.startswith(r.holder + ":")}
        charged: list[tuple[Charge, str]] = []
        for index, reservation in enumerate(admitted):
            actual = Decimal(rng.randint(0, 10_000)) / Decimal(1_000_000)  # 0 .. $0.01, at most the estimate
            charge = owner[reservation.id].settle(reservation, actual, 50)
            if charge is not None:
                charged.append((charge, f"req-{index}"))
        # Round 2: what the first round did not spend is spent now, still never beyond the budget.
        second = await asyncio.gather(*(r.admit(KEY, limits, estimate) for r in replicas for _ in range(40)))
        for r in replicas:
            for v in second:
                if isinstance(v, Reservation) and v.id.startswith(r.holder + ":"):
                    charge = r.settle(v, estimate.cost_usd, 100)
                    assert charge is not None
                    charged.append((charge, f"req2-{v.id}"))
        total = sum((c.cost_usd for c, _ in charged), Decimal(0))
        assert total <= budget
        assert total >= budget - 3 * estimate.cost_usd
        await write_logs(database_url, charged)
    finally:
        await loops.stop()
        for r in replicas:
            await r.close()
    use, logged, open_leases = await ledger_figures(database_url)
    assert use is not None
    assert use.spent == total == logged
    assert use.outstanding == 0 and open_leases == 0


async def test_replaying_a_batch_of_charges_charges_nothing_twice(database_url: str) -> None:
    clock = Clock()
    r = replica(database_url, "pod-0", clock)
    limits = Limits(budget_usd=Decimal(5))
    try:
        reservation = await r.admit(KEY, limits, Estimate(Decimal("0.5"), 10))
        assert isinstance(reservation, Reservation)
        charge = r.settle(reservation, Decimal("0.123456789012"), 10)
        assert charge is not None
        await write_logs(database_url, [(charge, "req-1")])
        await write_logs(database_url, [(charge, "req-1")])  # a commit whose acknowledgement was lost, replayed
    finally:
        await r.close()
    use, logged, _ = await ledger_figures(database_url)
    assert use is not None and use.spent == logged == Decimal("0.123456789012")


async def test_a_dead_replicas_lease_returns_to_the_others_after_the_sweep(database_url: str) -> None:
    clock = Clock()
    limits = Limits(budget_usd=Decimal("1.00"))
    estimate = Estimate(Decimal("0.10"), 10)
    settings = leases.LeaseSettings(ttl_s=60.0, sweep_grace_s=30.0)
    dead = replica(database_url, "pod-dead", clock, settings)
    alive = replica(database_url, "pod-alive", clock, settings)
    try:
        held = [await dead.admit(KEY, limits, estimate) for _ in range(3)]
        assert all(isinstance(v, Reservation) for v in held)
        await dead.close(release=False)  # killed: nothing handed back, nothing settled
        granted = [await alive.admit(KEY, limits, estimate) for _ in range(10)]
        before = sum(isinstance(v, Reservation) for v in granted)
        assert before < 10  # the dead replica's lease still blocks part of the budget
        for _ in range(4):  # the live replica keeps renewing its lease; the dead one cannot
            clock.advance(25)
            await alive.heartbeat()
        assert await alive.sweep() == 1
        after = [await alive.admit(KEY, limits, estimate) for _ in range(10)]
        # Everything the dead replica held comes back: the whole budget is now admitted by the live one.
        assert before + sum(isinstance(v, Reservation) for v in after) == 10
    finally:
        await alive.close()
    use, _, open_leases = await ledger_figures(database_url)
    assert use is not None and use.spent == 0 and use.outstanding == 0 and open_leases == 0


async def test_a_cost_above_its_estimate_is_charged_in_full_and_stops_further_spend(database_url: str) -> None:
    clock = Clock()
    limits = Limits(budget_usd=Decimal("1.00"))
    r = replica(database_url, "pod-0", clock)
    try:
        first = await r.admit(KEY, limits, Estimate(Decimal("0.10"), 10))
        assert isinstance(first, Reservation)
        charge = r.settle(first, Decimal("0.95"), 10)  # the provider billed far more than the bound
        assert charge is not None and charge.cost_usd == Decimal("0.95")
        await write_logs(database_url, [(charge, "req-over")])
        clock.advance(2)
        verdict = await r.admit(KEY, limits, Estimate(Decimal("0.10"), 10))
        assert isinstance(verdict, Refusal) and verdict.reason == "budget"
    finally:
        await r.close()
    use, logged, _ = await ledger_figures(database_url)
    assert use is not None and use.spent == logged == Decimal("0.95")
