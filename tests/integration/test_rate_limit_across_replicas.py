"""Requests and tokens per minute hold exactly across replicas: each minute's grants never sum past the limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from gateway.accounting import leases
from gateway.accounting.values import Estimate, KeyRef, Limits, Refusal, Reservation
from tests.integration.lease_replicas import Clock, replica, start_background

KEY = KeyRef("team-a", "bob")


async def burst(replicas: list[leases.LeaseManager], limits: Limits, estimate: Estimate, each: int) -> list[object]:
    return list(await asyncio.gather(*(r.admit(KEY, limits, estimate) for r in replicas for _ in range(each))))


async def test_three_replicas_bursting_in_one_minute_admit_exactly_the_rpm(database_url: str) -> None:
    clock = Clock()
    limits = Limits(rpm=120)
    replicas = [replica(database_url, f"pod-{i}", clock) for i in range(3)]
    loops = start_background(replicas)
    try:
        verdicts = await burst(replicas, limits, Estimate(Decimal(0), 10), 100)
        admitted = sum(isinstance(v, Reservation) for v in verdicts)
        refusals = [v for v in verdicts if isinstance(v, Refusal)]
        assert admitted == 120  # demand (300) exceeds the limit: every grant is used, none beyond it
        assert {r.reason for r in refusals} == {"rpm"}
        assert all(r.retry_after_s == 55.0 for r in refusals)  # until the next UTC minute
        clock.advance(55)
        verdicts = await burst(replicas, limits, Estimate(Decimal(0), 10), 100)
        assert sum(isinstance(v, Reservation) for v in verdicts) == 120  # a new minute, the full limit again
    finally:
        await loops.stop()
        for r in replicas:
            await r.close()


async def test_uneven_demand_across_replicas_leaves_at_most_a_last_grant_unused(database_url: str) -> None:
    clock = Clock()
    limits = Limits(rpm=120)
    replicas = [replica(database_url, f"pod-{i}", clock) for i in range(3)]
    try:
        verdicts = await burst(replicas, limits, Estimate(Decimal(0), 10), 50)  # 150 asked, 50 per replica
        admitted = sum(isinstance(v, Reservation) for v in verdicts)
        # A replica whose own demand ends holds the rest of its last grant, at most ceil(120 / 4) requests.
        assert 120 - 30 <= admitted <= 120
    finally:
        for r in replicas:
            await r.close()


async def test_three_replicas_bursting_in_one_minute_never_exceed_the_tpm(database_url: str) -> None:
    clock = Clock()
    limits = Limits(tpm=10_000)
    replicas = [replica(database_url, f"pod-{i}", clock) for i in range(3)]
    try:
        verdicts = await burst(replicas, limits, Estimate(Decimal(0), 300), 20)
        admitted = [v for v in verdicts if isinstance(v, Reservation)]
        assert sum(v.tokens for v in admitted) <= 10_000
        assert len(admitted) >= 10_000 // 300 - 3  # at most one request's worth stranded per replica
        assert {v.reason for v in verdicts if isinstance(v, Refusal)} == {"tpm"}
        # Tokens a request reserved but did not use come back to its replica for the same minute.
        owner = next(r for r in replicas if admitted[0].id.startswith(r.holder + ":"))
        mine = [v for v in admitted if v.id.startswith(owner.holder + ":")]
        for v in mine:
            owner.settle(v, Decimal(0), 100)
        again = [await owner.admit(KEY, limits, Estimate(Decimal(0), 300)) for _ in range(len(mine))]
        assert sum(isinstance(v, Reservation) for v in again) >= (200 * len(mine)) // 300
    finally:
        for r in replicas:
            await r.close()


async def test_a_request_bigger_than_the_tpm_is_refused_without_asking_the_store(database_url: str) -> None:
    r = replica(database_url, "pod-0", Clock())
    try:
        verdict = await r.admit(KEY, Limits(tpm=1000), Estimate(Decimal(0), 5000))
        assert isinstance(verdict, Refusal) and verdict.reason == "tpm"
        assert r.statements == 0
    finally:
        await r.close(release=False)
