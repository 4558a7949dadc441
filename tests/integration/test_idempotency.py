"""Idempotency-Key: a retry replays the first answer, a concurrent duplicate waits, a changed body is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

import httpx
import psycopg

from gateway.serving import idempotency_sweeper
from gateway.store import idempotency_repo, pool
from tests.fakes import faults
from tests.plugins.gateway import Gateway

BODY = {"model": "gpt", "messages": [{"role": "user", "content": "charge me once"}]}


async def post(http: httpx.AsyncClient, gateway: Gateway, key: str, body: Mapping[str, object]) -> httpx.Response:
    return await http.post(
        "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {gateway.key}", "Idempotency-Key": key},
    )


async def test_a_retry_gets_the_first_answer_without_a_second_upstream_call(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        first = await post(http, gateway, "order-1", BODY)
        second = await post(http, gateway, "order-1", BODY)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["x-tokenhub-request-id"] == first.headers["x-tokenhub-request-id"]
    assert len([r for r in gateway.openai.requests if r.path == "/v1/chat/completions"]) == 1


async def test_the_same_key_with_another_body_is_a_422(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        assert (await post(http, gateway, "order-2", BODY)).status_code == 200
        other = {**BODY, "messages": [{"role": "user", "content": "something else"}]}
        refused = await post(http, gateway, "order-2", other)
    assert refused.status_code == 422
    assert "different request" in refused.json()["error"]["message"]


async def test_a_concurrent_duplicate_waits_for_the_first_and_gets_its_answer(gateway: Gateway) -> None:
    gateway.openai.script(faults.delay(0.8))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        first, second = await asyncio.gather(
            post(http, gateway, "order-3", BODY),
            post(http, gateway, "order-3", BODY),
        )
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len([r for r in gateway.openai.requests if r.path == "/v1/chat/completions"]) == 1


async def test_a_failed_request_releases_its_key_so_a_retry_runs_again(gateway: Gateway) -> None:
    gateway.openai.script(faults.server_error(500), faults.server_error(500))  # each 5xx is retried once
    gateway.anthropic.script(faults.server_error(500), faults.server_error(500))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        failed = await post(http, gateway, "order-4", BODY)
        assert failed.status_code == 502
        retried = await post(http, gateway, "order-4", BODY)
    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers


async def test_exactly_one_of_two_racing_claims_wins(database_url: str) -> None:
    async def claim() -> idempotency_repo.Claim:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            stored = await idempotency_repo.claim(conn, "key", "same", b"h", dt.timedelta(minutes=1))
            return stored.claim

    results = await asyncio.gather(*(claim() for _ in range(5)))
    assert sorted(r.value for r in results) == ["in_progress"] * 4 + ["won"]


async def test_a_refusal_is_not_replayed_a_retry_reaches_the_provider_again(gateway: Gateway) -> None:
    gateway.openai.script(faults.invalid_request(400))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        refused = await post(http, gateway, "order-5", BODY)
        assert refused.status_code == 400
        retried = await post(http, gateway, "order-5", BODY)
    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers
    assert len([r for r in gateway.openai.requests if r.path == "/v1/chat/completions"]) == 2


async def count_records(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*) FROM idempotency_keys")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_records_are_swept_once_their_ttl_has_passed(database_url: str) -> None:
    db = pool.Database(database_url)
    await db.open()
    try:
        async with db.connection() as conn:
            for n in range(5):  # already expired: written with a TTL in the past
                await idempotency_repo.claim(conn, "key", f"old-{n}", b"h", dt.timedelta(seconds=-1))
            await idempotency_repo.claim(conn, "key", "fresh", b"h", dt.timedelta(hours=1))
        sweeper = idempotency_sweeper.IdempotencySweeper(db, idempotency_sweeper.SweepSettings(chunk=2))
        assert await sweeper.sweep_once() == 5
        assert await count_records(database_url) == 1
        assert await sweeper.sweep_once() == 0
    finally:
        await db.close()


async def test_every_replica_runs_the_sweep_under_its_supervisor(gateway: Gateway) -> None:
    loop = gateway.runtime.supervisor.loops["idempotency-expiry"]
    assert loop.running and not loop.done
