"""A manifest applied while three replicas serve traffic reaches every replica within seconds, without a single
request failing on the way: a new model becomes routable and a disabled key is refused everywhere."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.plugins import replicas

KEYS = """\
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: busy}
spec: {scopes: [chat], monthlyBudgetUSD: 50}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: leaver}
spec: {scopes: [chat]}
"""
CHANGED = """\
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: mock-large}
spec:
  providerRef: mock
  upstreamModel: mock-large
  contextWindow: 128000
  pricing: {inputPer1K: 0.02, outputPer1K: 0.04}
  capabilities: [chat]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: busy}
spec: {scopes: [chat], monthlyBudgetUSD: 50}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: leaver}
spec: {scopes: [chat], disabled: true}
"""
PROPAGATION_LIMIT_S = 5.0  # replicas poll every 0.2 s here and also LISTEN; a miss would show as seconds


async def load(client: httpx.AsyncClient, url: str, key: str, stop: asyncio.Event, tag: str) -> list[replicas.Reply]:
    replies: list[replicas.Reply] = []
    for n in range(400):
        if stop.is_set():
            break
        replies.append(await replicas.chat(client, url, key, replicas.chat_body(f"{tag} {n}")))
    return replies


async def until_changed(client: httpx.AsyncClient, url: str, busy: str, leaver: str, since: float) -> float:
    """Seconds from ``since`` until this replica routes mock-large and refuses the disabled key."""
    while time.monotonic() - since < PROPAGATION_LIMIT_S * 2:
        large = await replicas.chat(client, url, busy, replicas.chat_body("probe", model="mock-large"))
        gone = await replicas.chat(client, url, leaver, replicas.chat_body("probe"))
        if large.status == 200 and gone.status == 401:
            return time.monotonic() - since
        await asyncio.sleep(0.02)
    raise AssertionError(f"{url} did not take the new configuration")


async def test_an_apply_reaches_every_replica_under_load_and_no_request_fails(
    database_url: str, fleet: replicas.StartFleet, mock_upstreams: replicas.StartMock
) -> None:
    mock = mock_upstreams()
    hub = await fleet(database_url, replicas.fleet_manifests(mock.url, KEYS))
    busy, leaver = hub.key("busy"), hub.key("leaver")
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as client:
        for gateway in hub.gateways:
            before = await replicas.chat(client, gateway.url, busy, replicas.chat_body("probe", model="mock-large"))
            assert before.status == 404, before
            assert (await replicas.chat(client, gateway.url, leaver, replicas.chat_body("probe"))).status == 200
        loads = [
            asyncio.create_task(load(client, gateway.url, busy, stop, f"load {index}/{worker}"))
            for index, gateway in enumerate(hub.gateways)
            for worker in range(2)
        ]
        await asyncio.sleep(0.5)
        since = time.monotonic()
        revision = await hub.apply(replicas.fleet_manifests(mock.url, CHANGED))
        delays = await asyncio.gather(*(until_changed(client, g.url, busy, leaver, since) for g in hub.gateways))
        stop.set()
        replies = [reply for task in loads for reply in await task]
        revisions = [(await client.get(f"{g.url}/readyz")).json()["config_revision"] for g in hub.gateways]
    assert max(delays) < PROPAGATION_LIMIT_S, delays
    assert revisions == [revision] * 3
    assert len(replies) > 30 and {reply.status for reply in replies} == {200}
    logged = await hub.logged("busy", replies)
    assert all(len(logged[reply.request_id or ""]) == 1 for reply in replies)
