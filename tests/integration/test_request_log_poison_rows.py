"""One request whose log row carries a NUL must not stop the request log, nor the charges written with it.

The reproduction of issue 10: ``POST /v1/chat`` with ``"policy": {"\\u0000": 1}`` answers 400 and its row's
``error_message`` holds the NUL. Postgres refused the batch, the row was spooled and replayed before every later
batch, nothing was written again and the unrecorded spend went back to the budget at shutdown.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import psycopg

from gateway.store import leases_repo
from tests.plugins.gateway import Gateway

BUDGETED = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: budgeted}
spec: {scopes: [chat], monthlyBudgetUSD: 5}
"""


def metric(text: str, name: str) -> float:
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    assert values, f"{name} is not exported"
    return float(values[0])


async def test_a_nul_in_one_request_stops_neither_the_request_log_nor_the_charges(gateway: Gateway) -> None:
    await gateway.apply(BUDGETED)
    key = await gateway.issue_key("budgeted")
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        poisoned = await http.post(
            "/v1/chat",
            json={"request": {"messages": [{"role": "user", "content": "hi"}]}, "policy": {"\u0000": 1}},
            headers=headers,
        )
        assert poisoned.status_code == 400, poisoned.text
        await gateway.log_rows(1)  # the poisoned row's batch is done before the others come
        for n in range(5):
            answered = await http.post(
                "/v1/chat/completions",
                json={"model": "gpt", "messages": [{"role": "user", "content": f"after the NUL {n}"}]},
                headers=headers,
            )
            assert answered.status_code == 200, answered.text
        rows = await gateway.log_rows(6, "status, error_message, cost_usd")
        metrics = (await http.get("/metrics")).text

    assert [row[0] for row in rows] == [400, 200, 200, 200, 200, 200]
    assert "\\u0000" in rows[0][1]  # the NUL is stored, escaped, in the row of the request that sent it
    assert metric(metrics, "tokenhub_request_log_written_total") == 6
    assert metric(metrics, "tokenhub_request_log_dead_lettered_total") == 0
    assert metric(metrics, "tokenhub_request_log_write_errors_total") == 0

    logged = sum((row[2] for row in rows), Decimal(0))
    assert logged > 0
    now = dt.datetime.now(dt.UTC)
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        usage = await leases_repo.usage(conn, leases_repo.BudgetKey("default", "budgeted", f"{now:%Y-%m}"))
    assert usage is not None
    assert usage.spent == logged  # every cost answered is charged, in the same transaction as its row
