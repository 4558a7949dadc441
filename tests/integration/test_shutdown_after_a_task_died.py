"""Shutdown still writes every queued log row and hands every lease back when the tasks doing that had died.

The log writer and both lease loops are killed by an injected exception at their first run and left in a long
restart pause, so rows pile up in memory and leases stay held; stopping the gateway must still do both jobs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import psycopg
import pytest

from gateway.accounting import values
from gateway.serving import supervisor
from gateway.store import leases_repo
from tests.plugins.gateway import Gateway

KILLED = ("log-writer", "lease-refill", "lease-upkeep")
BUDGETED = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: budgeted}
spec: {scopes: [chat], monthlyBudgetUSD: 5}
"""
REQUESTS = 5


@pytest.fixture
def gateway_supervision() -> supervisor.Supervision:
    def die_at_first_run(name: str, run: supervisor.Run) -> supervisor.Run:
        if name not in KILLED:
            return run
        runs: list[int] = []

        async def first_run_dies() -> None:
            runs.append(1)
            if len(runs) == 1:
                raise RuntimeError(f"injected: {name} died")
            await run()

        return first_run_dies

    return supervisor.Supervision(supervisor.Backoff(initial_s=600.0, max_s=600.0), wrap=die_at_first_run)


async def budget_figures(database_url: str) -> tuple[int, leases_repo.Usage | None, Decimal]:
    """Request-log rows of the key, its budget period's usage, and the cost those rows carry."""
    period = values.period_of(dt.datetime.now(dt.UTC))
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT count(*), coalesce(sum(cost_usd), 0) FROM request_logs WHERE key_name = 'budgeted'"
        )
        row = await cur.fetchone()
        use = await leases_repo.usage(conn, leases_repo.BudgetKey("default", "budgeted", period))
    assert row is not None
    return int(row[0]), use, Decimal(row[1])


async def test_rows_are_written_and_leases_handed_back_at_shutdown_after_their_tasks_died(gateway: Gateway) -> None:
    runtime = gateway.runtime
    await gateway.until_revision(await gateway.apply(BUDGETED))
    key = await gateway.issue_key("budgeted")
    async with httpx.AsyncClient() as client:
        for n in range(REQUESTS):
            reply = await client.post(
                f"{gateway.base_url}/chat/completions",
                json={"model": "gpt", "messages": [{"role": "user", "content": f"request {n}"}]},
                headers={"authorization": f"Bearer {key}"},
            )
            assert reply.status_code == 200, reply.text
    for name in KILLED:
        assert await gateway.metric("tokenhub_background_task_failures_total", task=name) == 1.0
        assert not runtime.supervisor.loops[name].running  # dead, waiting out its restart pause
    assert runtime.logs.pending == REQUESTS
    logged, use, _ = await budget_figures(gateway.database_url)
    assert logged == 0 and use is not None and use.outstanding > 0

    await gateway.stop()

    logged, use, cost = await budget_figures(gateway.database_url)
    assert logged == REQUESTS and cost > 0
    assert use is not None and use.outstanding == 0  # every lease handed back
    assert use.spent == cost  # and every charge written with its row
