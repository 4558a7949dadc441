"""Three `tokenhub serve` replicas on one Postgres enforce a key's budget and rpm exactly under concurrent load,
and every cent admitted is in the request log and in the key's spend, to the last digit."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from decimal import Decimal

import httpx

from tests.plugins import replicas

KEYS = """\
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: capped}
spec: {scopes: [chat], monthlyBudgetUSD: 0.05}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: roomy}
spec: {scopes: [chat], monthlyBudgetUSD: 100}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: paced}
spec: {scopes: [chat], rateLimit: {rpm: 45}}
"""
WORKERS_PER_REPLICA = 3


async def until_refused(
    client: httpx.AsyncClient, url: str, key: str, tag: str, *, limit: int = 80
) -> list[replicas.Reply]:
    """Send requests one after another until the first refusal (at most ``limit``)."""
    replies: list[replicas.Reply] = []
    for n in range(limit):
        reply = await replicas.chat(client, url, key, replicas.chat_body(f"{tag} request {n}"))
        replies.append(reply)
        if reply.status != 200:
            break
    return replies


async def steady(client: httpx.AsyncClient, url: str, key: str, tag: str, count: int) -> list[replicas.Reply]:
    return [await replicas.chat(client, url, key, replicas.chat_body(f"{tag} request {n}")) for n in range(count)]


def assert_logged_once(logged: dict[str, list[tuple[int, Decimal]]], replies: list[replicas.Reply]) -> None:
    """Every reply has exactly one log row under its request id, with the status the client saw."""
    assert len(logged) == len(replies)
    for reply in replies:
        assert reply.request_id is not None
        assert [status for status, _ in logged[reply.request_id]] == [reply.status]


async def test_three_replicas_never_spend_past_a_budget_and_log_exactly_what_they_charge(
    database_url: str, fleet: replicas.StartFleet, mock_upstreams: replicas.StartMock
) -> None:
    mock = mock_upstreams()
    hub = await fleet(database_url, replicas.fleet_manifests(mock.url, KEYS))
    capped, roomy = hub.key("capped"), hub.key("roomy")
    async with httpx.AsyncClient(timeout=10) as client:
        runs = await asyncio.gather(
            *(
                until_refused(client, gateway.url, capped, f"capped {index}/{worker}")
                for index, gateway in enumerate(hub.gateways)
                for worker in range(WORKERS_PER_REPLICA)
            ),
            *(
                steady(client, gateway.url, roomy, f"roomy {index}/{worker}", 10)
                for index, gateway in enumerate(hub.gateways)
                for worker in range(2)
            ),
        )
    capped_runs = runs[: len(hub.gateways) * WORKERS_PER_REPLICA]
    capped_replies = [reply for run in capped_runs for reply in run]
    roomy_replies = [reply for run in runs[len(capped_runs) :] for reply in run]

    # Every worker ran into the budget, and the only refusal anyone saw says so.
    assert all(run[-1].status == 429 and run[-1].code == "budget_exceeded" for run in capped_runs)
    assert {reply.status for reply in capped_replies} == {200, 429}
    served_per_replica = [
        sum(reply.status == 200 for run in capped_runs[i : i + WORKERS_PER_REPLICA] for reply in run)
        for i in range(0, len(capped_runs), WORKERS_PER_REPLICA)
    ]
    assert all(served > 0 for served in served_per_replica), served_per_replica  # the budget was shared
    assert all(reply.status == 200 for reply in roomy_replies)

    capped_logged = await hub.logged("capped", capped_replies)
    roomy_logged = await hub.logged("roomy", roomy_replies)
    assert_logged_once(capped_logged, capped_replies)
    assert_logged_once(roomy_logged, roomy_replies)

    capped_use, roomy_use = await hub.usage("capped"), await hub.usage("roomy")
    capped_cost = sum((cost for rows in capped_logged.values() for _, cost in rows), Decimal(0))
    roomy_cost = sum((cost for rows in roomy_logged.values() for _, cost in rows), Decimal(0))
    assert capped_use.spent <= Decimal("0.05")  # never past the budget, across three replicas
    assert capped_use.spent > Decimal("0.025")  # and not refusing early: most of it was served
    # Cost reconciliation: logged costs = budget usage = the spend the key's status reports, to 1e-9.
    assert abs(capped_use.spent - capped_cost) <= Decimal("1e-9")
    assert abs(roomy_use.spent - roomy_cost) <= Decimal("1e-9")
    assert [await hub.reported_spend("capped"), await hub.reported_spend("roomy")] == [
        capped_use.spent,
        roomy_use.spent,
    ]
    assert roomy_cost > 0 and capped_use.outstanding + roomy_use.outstanding > 0  # leases are held while serving

    # A clean shutdown flushes the logs and hands every lease back: nothing stays outstanding, no spend changes.
    assert [gateway.terminate() for gateway in hub.gateways] == [0, 0, 0]
    after = [await hub.usage("capped"), await hub.usage("roomy")]
    assert [use.outstanding for use in after] == [0, 0]
    assert [use.spent for use in after] == [capped_use.spent, roomy_use.spent]


async def test_three_replicas_admit_exactly_the_rpm_within_one_utc_minute(
    database_url: str, fleet: replicas.StartFleet, mock_upstreams: replicas.StartMock
) -> None:
    mock = mock_upstreams()
    hub = await fleet(database_url, replicas.fleet_manifests(mock.url, KEYS))
    paced = hub.key("paced")
    second = dt.datetime.now(dt.UTC).second
    if second > 45:  # keep the storm inside one calendar minute: the window rpm is counted in
        await asyncio.sleep(60.3 - second - dt.datetime.now(dt.UTC).microsecond / 1e6)
    minute = int(time.time() // 60)
    async with httpx.AsyncClient(timeout=10) as client:
        runs = await asyncio.gather(
            *(
                until_refused(client, gateway.url, paced, f"paced {index}/{worker}")
                for index, gateway in enumerate(hub.gateways)
                for worker in range(WORKERS_PER_REPLICA)
            )
        )
    replies = [reply for run in runs for reply in run]
    served = [reply for reply in replies if reply.status == 200]
    assert {int(reply.at // 60) for reply in replies} == {minute}, "the storm crossed a minute boundary"
    assert all(run[-1].status == 429 and run[-1].code == "rate_limit_exceeded" for run in runs)
    # Each replica stopped only when it held nothing and Postgres had nothing left to grant: exactly the rpm.
    assert len(served) == 45
    per_replica = [sum(r.status == 200 for run in runs[i : i + 3] for r in run) for i in range(0, len(runs), 3)]
    assert all(count > 0 for count in per_replica), per_replica
    granted = await hub.query("SELECT window_minute, requests_granted FROM rate_windows WHERE key_name = 'paced'")
    assert granted == [(minute, 45)]
    assert_logged_once(await hub.logged("paced", replies), replies)
