"""Three OS processes, each a replica with its own lease manager, burst on one key: spend stays within budget.

Each process admits a concurrent burst, settles with random actual costs, then writes its log rows and their
charges in one transaction (as the log writer does) and hands its leases back.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from decimal import Decimal

import orjson
import psycopg

from gateway.store import leases_repo

CHILD = r"""
import asyncio, datetime as dt, random, sys, time
from decimal import Decimal
import orjson, psycopg
from gateway.accounting import backend, leases
from gateway.accounting.values import Estimate, KeyRef, Limits, Reservation
from gateway.serving import supervisor
from gateway.store import leases_repo, logs_repo, pool

async def main(url, holder, start_at):
    db = pool.Database(url)
    manager = leases.LeaseManager(backend.PgLeaseBackend(db), holder=holder)
    loops = supervisor.Supervisor()
    loops.start("lease-refill", manager.run_refills)
    loops.start("lease-upkeep", manager.run_upkeep)
    key, limits, estimate = KeyRef("team-a", "dave"), Limits(budget_usd=Decimal("2")), Estimate(Decimal("0.01"), 10)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    rng = random.Random(holder)
    charges, rows, admitted = [], [], 0
    for round_ in range(3):
        verdicts = await asyncio.gather(*(manager.admit(key, limits, estimate) for _ in range(60)))
        for n, v in enumerate(verdicts):
            if not isinstance(v, Reservation):
                continue
            admitted += 1
            charge = manager.settle(v, Decimal(rng.randint(1, 10_000)) / Decimal(1_000_000), 10)
            rid = f"{holder}-{round_}-{n}"
            bk = leases_repo.BudgetKey(key.namespace, key.name, charge.period)
            charges.append(leases_repo.ChargeRow(charge.reservation_id, bk, holder, charge.cost_usd, rid))
            rows.append(logs_repo.RequestLogRow(request_id=rid, created_at=dt.datetime.now(dt.UTC),
                endpoint="chat.completions", status=200, latency_ms=1.0, key_namespace=key.namespace,
                key_name=key.name, cost_usd=charge.cost_usd))
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await logs_repo.insert_batch(conn, rows)
        await leases_repo.charge(conn, charges)
    await loops.stop()
    await manager.close()
    await db.close()
    sys.stdout.write(orjson.dumps({"admitted": admitted, "charged": str(sum(c.cost_usd for c in charges))}).decode())

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""


def test_three_processes_bursting_on_one_key_spend_within_the_budget_and_log_every_cent(database_url: str) -> None:
    start_at = time.time() + 3.0  # all three burst at the same moment, after their imports
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, database_url, f"proc-{i}", str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(3)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=45)
        assert proc.returncode == 0, err.decode()
        results.append(orjson.loads(out))
    charged = sum((Decimal(r["charged"]) for r in results), Decimal(0))
    assert Decimal(1) < charged <= Decimal(2)  # the bursts asked for 5.40 in estimates
    assert all(r["admitted"] > 0 for r in results)  # each replica got a share of the budget
    with psycopg.connect(database_url) as conn:
        logged = conn.execute("SELECT sum(cost_usd) FROM request_logs WHERE key_name = 'dave'").fetchone()
        leased = conn.execute("SELECT count(*) FROM budget_leases").fetchone()
        period = conn.execute("SELECT period FROM budget_periods").fetchone()
    assert logged is not None and leased is not None and period is not None

    async def usage() -> leases_repo.Usage | None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            return await leases_repo.usage(conn, leases_repo.BudgetKey("team-a", "dave", period[0]))

    use = asyncio.run(usage())
    assert use is not None
    assert use.spent == charged == logged[0]
    assert use.outstanding == 0 and leased[0] == 0
