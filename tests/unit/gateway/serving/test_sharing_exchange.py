"""Replicas exchanging through a store: cooldowns and probes travel, evidence merges once, outages lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

import pytest

from gateway.config import snapshot
from gateway.providers import errors as upstream_errors
from gateway.routing import decision, health, thompson
from gateway.serving import routing_state, sharing
from tests.unit.gateway.routing import factories
from tests.unit.gateway.serving.memory_store import MemoryStore

OPENAI = snapshot.Ref("Provider", "team", "openai")
KEY = "team/openai"


class Replica:
    def __init__(self, store: MemoryStore, name: str) -> None:
        self.routing = routing_state.RoutingState()
        self.sharing = sharing.Sharing(self.routing, store, name)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def a_decision() -> decision.Decision:
    return factories.decision_between("gpt", "claude", requested="gpt")


def close(a: thompson.ArmStats, b: thompson.ArmStats) -> bool:
    return math.isclose(a.alpha, b.alpha, rel_tol=1e-9) and math.isclose(a.beta, b.beta, rel_tol=1e-9)


async def test_a_429_on_one_replica_keeps_the_other_away_after_one_exchange_each(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    assert b.routing.cooldown_remaining(OPENAI) == 0.0
    assert await a.sharing.sync_once() and await b.sharing.sync_once()
    assert 29.0 < b.routing.cooldown_remaining(OPENAI) <= 30.0


async def test_a_circuit_opened_elsewhere_is_closed_everywhere_by_the_probers_success(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    for _ in range(5):
        a.routing.failed(OPENAI, upstream_errors.Transient("team/openai", "boom", status=500))
    await a.sharing.sync_once()
    await b.sharing.sync_once()
    assert b.routing.cooldown_remaining(OPENAI) > 0
    b.routing.probed(OPENAI, ok=True, latency_s=0.05)  # b is the elected prober
    assert b.routing.cooldown_remaining(OPENAI) > 0  # a's circuit is still open as far as b knows
    await b.sharing.sync_once()  # publishes the probe
    await a.sharing.sync_once()  # a adopts it: its circuit goes half-open
    assert a.routing.cooldown_remaining(OPENAI) == 0.0
    await a.sharing.sync_once()  # publishes its half-open circuit
    await b.sharing.sync_once()
    assert b.routing.cooldown_remaining(OPENAI) == 0.0


async def test_merged_in_state_is_never_published_again(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    await a.sharing.sync_once()
    await b.sharing.sync_once()
    assert (KEY, "b") not in store.health


async def test_bandit_evidence_from_both_replicas_merges_into_both_views(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    decided = a_decision()
    for success in (True, True, False):
        a.routing.rewarded("team", decided, "gpt", success=success, latency_s=0.2, cost=0.001)
    b.routing.rewarded("team", decided, "gpt", success=True, latency_s=3.0, cost=0.02)
    b.routing.rewarded("team", decided, "claude", success=True, latency_s=0.1, cost=0.001)
    arm = ("gpt", thompson.Bucket.SMALL)
    own_a, own_b = a.routing.bandits["team"][arm], b.routing.bandits["team"][arm]
    for replica in (a, b, a):
        assert await replica.sharing.sync_once()
    half_life = decided.table.policies[decided.policy].policy.bandit.half_life_s
    expected = thompson.merge(own_a, own_b, 0.0, half_life)
    assert close(a.routing.bandits["team"][arm], expected)
    assert close(b.routing.bandits["team"][arm], expected)
    assert ("claude", thompson.Bucket.SMALL) in a.routing.bandits["team"]


async def test_repeated_exchanges_never_count_evidence_twice(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    decided = a_decision()
    a.routing.rewarded("team", decided, "gpt", success=True, latency_s=0.2, cost=0.001)
    b.routing.rewarded("team", decided, "gpt", success=False, latency_s=0.2, cost=0.0)
    arm = ("gpt", thompson.Bucket.SMALL)
    for replica in (a, b, a, b, a, b):
        await replica.sharing.sync_once()
    got = a.routing.bandits["team"][arm]
    now = time.monotonic()
    mass = thompson.decayed(got, now, 3600.0)
    assert 1.999 < mass.alpha + mass.beta <= 2.0  # two observations, each of mass 1, barely decayed


async def test_evidence_gathered_while_the_store_is_down_is_shared_once_it_returns(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    store.down = True
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    a.routing.rewarded("team", a_decision(), "gpt", success=True, latency_s=0.2, cost=0.001)
    assert not await a.sharing.sync_once()
    assert a.routing.cooldown_remaining(OPENAI) > 29  # local state is kept
    store.down = False
    assert await a.sharing.sync_once() and await b.sharing.sync_once()
    assert b.routing.cooldown_remaining(OPENAI) > 28
    assert ("gpt", thompson.Bucket.SMALL) in b.routing.bandits["team"]


async def test_evidence_postgres_refused_is_not_sent_again_but_kept_locally(store: MemoryStore) -> None:
    a, b = Replica(store, "a"), Replica(store, "b")
    store.rejecting = True
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    assert not await a.sharing.sync_once()
    assert a.routing.cooldown_remaining(OPENAI) > 29  # local state is kept
    store.rejecting = False
    assert await a.sharing.sync_once() and await b.sharing.sync_once()  # the refused rows were not resent
    assert b.routing.cooldown_remaining(OPENAI) == 0.0
    assert a.sharing.failures == 1


async def test_an_exchange_cancelled_midway_sends_its_evidence_next_time(store: MemoryStore) -> None:
    a = Replica(store, "a")
    a.routing.failed(OPENAI, upstream_errors.RateLimited("team/openai", "slow down", status=429, retry_after=30))
    store.stalled = True
    task = asyncio.create_task(a.sharing.sync_once())
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    store.stalled = False
    await a.sharing.flush()
    assert store.health[(KEY, "a")].retry_after_until > 0


async def test_an_idle_exchange_sends_nothing(store: MemoryStore) -> None:
    a = Replica(store, "a")
    a.routing.succeeded(OPENAI, 0.1)
    await a.sharing.sync_once()
    assert a.routing.take_outbox() == sharing.Outbox()


def test_a_replica_that_only_probes_publishes_no_traffic_statistics() -> None:
    r = routing_state.RoutingState()
    r.probed(OPENAI, ok=True, latency_s=0.05)
    (own,) = r.take_outbox().health
    assert own.observed_at is None and own.health.probe is not None
    assert health.available(r.health[KEY], time.monotonic())
