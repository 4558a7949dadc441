"""Postgres stopped and started again under load: three replicas keep serving from the leases they hold, refuse
clearly once a key's lease runs out, spool their log rows and replay them - no row lost, no cent overspent."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx

from tests.plugins import replicas

KEYS = """\
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: metered}
spec: {scopes: [chat], monthlyBudgetUSD: 5}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: tight}
spec: {scopes: [chat], monthlyBudgetUSD: 0.03}
"""
OUTAGE_S = 3.0


async def load(client: httpx.AsyncClient, url: str, key: str, stop: asyncio.Event, tag: str) -> list[replicas.Reply]:
    replies: list[replicas.Reply] = []
    for n in range(1500):
        if stop.is_set():
            break
        replies.append(await replicas.chat(client, url, key, replicas.chat_body(f"{tag} {n}")))
        await asyncio.sleep(0.005)  # leave the CPUs some room for Postgres going down and coming back
    return replies


async def until_refused(client: httpx.AsyncClient, url: str, key: str, tag: str) -> list[replicas.Reply]:
    replies: list[replicas.Reply] = []
    for n in range(100):
        replies.append(await replicas.chat(client, url, key, replicas.chat_body(f"{tag} {n}")))
        if replies[-1].status != 200:
            break
    return replies


async def until_served(client: httpx.AsyncClient, url: str, key: str, tag: str) -> list[replicas.Reply]:
    replies: list[replicas.Reply] = []
    for n in range(100):
        replies.append(await replicas.chat(client, url, key, replicas.chat_body(f"{tag} {n}")))
        if replies[-1].status == 200:
            break
        await asyncio.sleep(0.1)
    return replies


async def write_errors(client: httpx.AsyncClient, url: str) -> float:
    text = (await client.get(f"{url}/metrics")).text
    lines = [line for line in text.splitlines() if line.startswith("tokenhub_request_log_write_errors_total")]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_a_postgres_restart_under_load_loses_no_log_row_and_overspends_nothing(
    restartable_postgres: replicas.RestartablePostgres,
    fleet: replicas.StartFleet,
    mock_upstreams: replicas.StartMock,
) -> None:
    pg = restartable_postgres
    mock = mock_upstreams()
    hub = await fleet(pg.url, replicas.fleet_manifests(mock.url, KEYS))
    metered, tight = hub.key("metered"), hub.key("tight")
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=15) as client:
        warmup = [await replicas.chat(client, g.url, tight, replicas.chat_body("warm up")) for g in hub.gateways]
        assert [reply.status for reply in warmup] == [200, 200, 200]  # each replica now holds a small lease
        loads = [
            asyncio.create_task(load(client, g.url, metered, stop, f"metered {index}/{worker}"))
            for index, g in enumerate(hub.gateways)
            for worker in range(2)
        ]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(pg.stop)
        down_at = time.time()
        drained = await asyncio.gather(
            *(until_refused(client, g.url, tight, f"outage {index}") for index, g in enumerate(hub.gateways))
        )
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.time() - down_at)))
        up_at = time.time()
        await asyncio.to_thread(pg.start)
        recovered = await asyncio.gather(
            *(until_served(client, g.url, tight, f"after {index}") for index, g in enumerate(hub.gateways))
        )
        await asyncio.sleep(1.0)
        stop.set()
        served = [reply for task in loads for reply in await task]
        errors = [await write_errors(client, g.url) for g in hub.gateways]

    # While Postgres was down, held leases kept the key served; the small lease ran out and was refused clearly.
    unexpected = [(reply.status, reply.code) for reply in served if reply.status not in (200, 503)]
    assert not unexpected, unexpected[:5]
    assert sum(reply.status == 200 and down_at < reply.at < up_at for reply in served) > 0
    for run in drained:
        assert run[-1].status == 503 and run[-1].at < up_at + 1, run[-1]
    refusal = await _refusal_body(hub, "tight")
    assert "unreachable" in refusal
    assert all(run[-1].status == 200 for run in recovered)  # and after the restart, admission is back
    assert all(count > 0 for count in errors), errors  # every replica's log writer met the outage

    tight_replies = warmup + [r for run in drained + recovered for r in run]
    for name, replies in (("metered", served), ("tight", tight_replies)):
        logged = await hub.logged(name, replies, timeout_s=20)
        assert {request_id: [s for s, _ in rows] for request_id, rows in logged.items()} == {
            reply.request_id: [reply.status] for reply in replies
        }
        cost = sum((cost for rows in logged.values() for _, cost in rows), Decimal(0))
        use = await hub.usage(name)
        assert use.spent <= use.limit
        assert abs(use.spent - cost) <= Decimal("1e-9")
        assert await hub.reported_spend(name) == use.spent
    assert [gateway.terminate() for gateway in hub.gateways] == [0, 0, 0]
    assert [(await hub.usage(name)).outstanding for name in ("metered", "tight")] == [0, 0]


async def _refusal_body(hub: replicas.Fleet, key_name: str) -> str:
    """The message of the key's refusals during the outage, as the request log kept it."""
    rows = await hub.query(
        "SELECT error_message FROM request_logs WHERE key_name = %s AND status = 503 LIMIT 1", key_name
    )
    assert rows, "no refusal logged"
    return str(rows[0][0])
