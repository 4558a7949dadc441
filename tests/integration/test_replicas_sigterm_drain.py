"""SIGTERM to one of three replicas in the middle of streams: it stops reporting ready at once, every stream it is
relaying finishes with [DONE] within the drain timeout, its log rows are written and its leases handed back
before it exits 0 - while the other replicas keep serving."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx

from tests.plugins import replicas

KEYS = """\
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: streamer}
spec: {scopes: [chat], monthlyBudgetUSD: 10}
"""
DRAIN_TIMEOUT_S = 15
CHUNK_DELAY_MS = 100  # 20 chunks: each stream lasts about 2 s, longer than the 1 s drain delay


async def stream(
    client: httpx.AsyncClient, url: str, key: str, tag: str, started: asyncio.Event | None = None
) -> replicas.Reply:
    """One streamed completion read to its end; ``started`` is set once its first chunk arrived."""
    body = replicas.chat_body(tag, stream=True)
    headers = {"authorization": f"Bearer {key}"}
    chunks: list[bytes] = []
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as response:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            if started is not None:
                started.set()
    done = response.status_code == 200 and b"".join(chunks).rstrip().endswith(b"data: [DONE]")
    return replicas.Reply(response.status_code, response.headers.get("x-tokenhub-request-id"), done=done)


async def outstanding_of(hub: replicas.Fleet, pid: int) -> list[tuple[object, ...]]:
    """Budget this replica (its lease holder name carries its pid) still holds out of the key's budget."""
    return await hub.query(
        "SELECT holder, granted_usd - released_usd - charged_usd FROM budget_leases"
        " WHERE holder LIKE %s AND granted_usd - released_usd - charged_usd > 0",
        f"%-{pid}-%",
    )


async def test_sigterm_drains_streams_to_the_end_flushes_logs_and_returns_leases(
    database_url: str, fleet: replicas.StartFleet, mock_upstreams: replicas.StartMock
) -> None:
    mock = mock_upstreams(chunk_delay_ms=CHUNK_DELAY_MS)
    env = {"TOKENHUB_DRAIN_DELAY_SECONDS": "1", "TOKENHUB_DRAIN_TIMEOUT_SECONDS": str(DRAIN_TIMEOUT_S)}
    hub = await fleet(database_url, replicas.fleet_manifests(mock.url, KEYS), env=env)
    key = hub.key("streamer")
    leaving, *staying = hub.gateways
    async with httpx.AsyncClient(timeout=30) as client:
        started = [asyncio.Event() for _ in range(6)]
        draining = [
            asyncio.create_task(stream(client, leaving.url, key, f"drained {n}", event))
            for n, event in enumerate(started)
        ]
        others = [asyncio.create_task(stream(client, g.url, key, f"other {n}")) for n, g in enumerate(staying * 2)]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 10)
        assert await outstanding_of(hub, leaving.proc.pid)  # it holds a lease while it serves

        leaving.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        async with httpx.AsyncClient(timeout=5) as fresh:
            ready = await fresh.get(f"{leaving.url}/readyz")
            late = await replicas.chat(fresh, leaving.url, key, replicas.chat_body("arrived after SIGTERM"))
            still = [(await fresh.get(f"{g.url}/readyz")).status_code for g in staying]
        assert ready.status_code == 503 and ready.json()["reason"] == "draining"
        assert late.status == 200  # the drain delay: a load balancer may still send a request or two
        assert still == [200, 200]

        drained = await asyncio.gather(*draining)
        exit_code = await asyncio.to_thread(leaving.proc.wait, DRAIN_TIMEOUT_S + 5)
        stopped_after = time.monotonic() - signalled
        served_elsewhere = await asyncio.gather(*others)
        after = await stream(client, staying[0].url, key, "after the drain")

    assert [(reply.status, reply.done) for reply in drained] == [(200, True)] * 6  # no client saw a broken stream
    assert exit_code == 0, leaving.log()
    assert stopped_after < DRAIN_TIMEOUT_S
    assert [(reply.status, reply.done) for reply in [*served_elsewhere, after]] == [(200, True)] * 5
    # Written before it exited: no waiting here, the rows must already be in Postgres.
    ids = [reply.request_id for reply in [*drained, late]]
    rows = await hub.query("SELECT request_id, status FROM request_logs WHERE request_id = ANY(%s)", ids)
    assert sorted(rows) == sorted((request_id, 200) for request_id in ids)
    assert await outstanding_of(hub, leaving.proc.pid) == []
