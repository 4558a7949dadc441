"""Health and bandit statistics shared through Postgres: two replicas in one process, one database.

Each replica has its own routing state, connection pool and sharing task, as separate processes would; the
prober election uses the real session-level advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from gateway.config import snapshot
from gateway.providers import errors as upstream_errors
from gateway.routing import decision, health, thompson
from gateway.serving import prober, routing_state, sharing
from gateway.store import bandit_repo, health_repo, pool
from tests.plugins.gateway import Gateway
from tests.unit.gateway.routing import factories

OPENAI = snapshot.Ref("Provider", "team", "openai")
GPT = ("gpt", thompson.Bucket.SMALL)


class Replica:
    def __init__(self, url: str, name: str) -> None:
        self.routing = routing_state.RoutingState()
        self.db = pool.Database(url, max_size=2)
        settings = sharing.SharingSettings(interval_s=0.1)
        self.sharing = sharing.Sharing(self.routing, sharing.PgSharedStore(self.db, settings), name, settings)


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    a, b = Replica(database_url, "replica-a"), Replica(database_url, "replica-b")
    try:
        yield a, b
    finally:
        await a.db.close()
        await b.db.close()


def a_decision() -> decision.Decision:
    return factories.decision_between("gpt", "claude", requested="gpt")


async def test_a_429_seen_by_one_replica_is_honoured_by_the_other_after_one_sync(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    assert b.routing.cooldown_remaining(OPENAI) == 0.0
    assert await a.sharing.sync_once()
    assert await b.sharing.sync_once()
    assert 28.0 < b.routing.cooldown_remaining(OPENAI) <= 30.0
    assert b.routing.health["team/openai"].retry_after_until > 0


async def test_bandit_evidence_from_both_replicas_merges_into_both_views(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    decided = a_decision()
    for success in (True, True, False, True):
        a.routing.rewarded("team", decided, "gpt", success=success, latency_s=0.3, cost=0.001)
    for success in (False, True):
        b.routing.rewarded("team", decided, "gpt", success=success, latency_s=4.0, cost=0.02)
    own_a, own_b = a.routing.bandits["team"][GPT], b.routing.bandits["team"][GPT]
    for replica in (a, b, a, b):  # more exchanges than needed: evidence must not count twice
        assert await replica.sharing.sync_once()
    half_life = decided.table.policies[decided.policy].policy.bandit.half_life_s
    expected = thompson.merge(own_a, own_b, 0.0, half_life)
    for view in (a.routing.bandits["team"][GPT], b.routing.bandits["team"][GPT]):
        assert math.isclose(view.alpha, expected.alpha, rel_tol=1e-6)
        assert math.isclose(view.beta, expected.beta, rel_tol=1e-6)


async def test_the_sum_of_other_replicas_evidence_is_computed_with_the_merge_rule(
    pg_conn: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    rows = [
        bandit_repo.ArmRow("team", "gpt", "small", 3.0, 1.0, 1_000.0, 600.0),
        bandit_repo.ArmRow("team", "gpt", "small", 2.0, 5.0, 1_900.0, 600.0),
    ]
    for i, row in enumerate(rows):
        await bandit_repo.exchange(pg_conn, f"writer-{i}", [row], now=2_000.0)
    (summed,) = await bandit_repo.exchange(pg_conn, "reader", [], now=2_000.0)
    a, b = (thompson.ArmStats(r.alpha, r.beta, r.at) for r in rows)
    expected = thompson.merge(a, b, 0.0, 600.0)
    assert summed.at == expected.at
    assert math.isclose(summed.alpha, expected.alpha, rel_tol=1e-12)
    assert math.isclose(summed.beta, expected.beta, rel_tol=1e-12)


async def test_a_replica_reads_back_none_of_its_own_rows(pg_conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    row = health_repo.Published("team/openai", retry_after_until=5_000.0)
    assert await health_repo.exchange(pg_conn, "a", [row], now=4_000.0, horizon_s=300, forget_s=3600) == []
    (seen,) = await health_repo.exchange(pg_conn, "b", [], now=4_000.0, horizon_s=300, forget_s=3600)
    assert (seen.replica, seen.retry_after_until) == ("a", 5_000.0)


async def test_stale_rows_without_a_cooldown_are_forgotten(
    pg_conn: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    await health_repo.exchange(
        pg_conn, "gone", [health_repo.Published("team/openai")], now=1_000.0, horizon_s=300, forget_s=3600
    )
    assert await health_repo.exchange(pg_conn, "b", [], now=1_100.0, horizon_s=300, forget_s=3600) != []
    assert await health_repo.exchange(pg_conn, "b", [], now=9_000.0, horizon_s=300, forget_s=3600) == []
    cur = await pg_conn.execute("SELECT count(*) FROM provider_health WHERE replica = 'gone'")
    assert await cur.fetchone() == (0,)


async def test_replicas_keep_their_state_while_postgres_is_unreachable() -> None:
    routing = routing_state.RoutingState()
    unreachable = pool.Database("postgresql://127.0.0.1:1/nowhere", max_size=1, connect_timeout_s=1)
    settings = sharing.SharingSettings(interval_s=0.2)
    task = sharing.Sharing(routing, sharing.PgSharedStore(unreachable, settings), "lonely", settings)
    routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    try:
        assert not await task.sync_once()
    finally:
        await unreachable.close()
    assert routing.cooldown_remaining(OPENAI) > 25
    assert len(routing.take_outbox().health) == 1  # handed back for the next attempt


async def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout_s}s")
        await asyncio.sleep(0.02)


async def test_one_of_two_probers_probes_and_the_other_takes_over_when_it_stops(
    gateway: Gateway,
) -> None:
    runtime = gateway.runtime
    first = prober.Prober(
        runtime.config,
        runtime.upstreams,
        routing_state.RoutingState(),
        tick_s=0.05,
        leadership=health_repo.ProbeLock(gateway.runtime.db),
    )
    second = prober.Prober(
        runtime.config,
        runtime.upstreams,
        routing_state.RoutingState(),
        tick_s=0.05,
        leadership=health_repo.ProbeLock(gateway.runtime.db),
    )
    first_task = asyncio.create_task(first.run(), name="prober-first")
    await wait_for(lambda: first.probes == 3, 5.0)
    second_task = asyncio.create_task(second.run(), name="prober-second")
    try:
        await asyncio.sleep(0.5)  # ten ticks of the second prober
        assert (first.leading, second.leading) == (True, False)
        assert (first.probes, second.probes) == (3, 0)
        first_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first_task
        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        await wait_for(lambda: second.probes == 3, 5.0)
        assert loop.time() - stopped_at < 1.0  # within a few ticks
        assert second.leading
    finally:
        for task in (first_task, second_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_probers_lock_frees_when_its_session_dies(database_url: str) -> None:
    db = pool.Database(database_url, max_size=1)
    holder, waiting = health_repo.ProbeLock(db), health_repo.ProbeLock(db)
    try:
        assert await holder.hold()
        assert not await waiting.hold()
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                (health_repo.PROBER_LOCK & 0xFFFFFFFF,),
            )
        assert not await holder.hold()  # the holder notices it lost the role
        assert await waiting.hold()
    finally:
        await holder.close()
        await waiting.close()
        await db.close()


async def test_probe_results_reach_the_replicas_that_do_not_probe(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    for _ in range(health.HealthSettings().probe_down_after):
        a.routing.probed(OPENAI, ok=False, latency_s=None)  # a is the prober; the provider is idle everywhere
    assert a.routing.cooldown_remaining(OPENAI) > 0
    await a.sharing.sync_once()
    await b.sharing.sync_once()
    assert b.routing.cooldown_remaining(OPENAI) > 0
    probe = b.routing.health["team/openai"].probe
    assert probe is not None and not probe.ok


async def test_a_running_gateway_publishes_what_it_learns_in_the_background(gateway: Gateway) -> None:
    runtime = gateway.runtime
    ref = snapshot.Ref("Provider", "default", "openai")
    runtime.routing.failed(ref, upstream_errors.RateLimited("default/openai", "slow down", status=429, retry_after=60))

    async def published() -> list[tuple[object, ...]]:
        async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
            cur = await conn.execute(
                "SELECT replica FROM provider_health WHERE provider = 'default/openai' AND retry_after_until > 0"
            )
            return await cur.fetchall()

    deadline = asyncio.get_running_loop().time() + 2 * runtime.sharing.settings.interval_s + 2.0
    while not (rows := await published()):
        assert asyncio.get_running_loop().time() < deadline, "nothing was published"
        await asyncio.sleep(0.1)
    assert rows == [(runtime.replica,)]
