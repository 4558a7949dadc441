from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import thompson

H = 600.0
masses = st.floats(0.0, 1e4)
times = st.floats(0.0, 1e5)
stats = st.builds(thompson.ArmStats, masses, masses, times)


def close(a: thompson.ArmStats, b: thompson.ArmStats) -> bool:
    return (
        math.isclose(a.alpha, b.alpha, rel_tol=1e-9, abs_tol=1e-9)
        and math.isclose(a.beta, b.beta, rel_tol=1e-9, abs_tol=1e-9)
        and a.at == b.at
    )


@given(a=stats, b=stats, now=times)
def test_merge_is_commutative(a: thompson.ArmStats, b: thompson.ArmStats, now: float) -> None:
    assert close(thompson.merge(a, b, now, H), thompson.merge(b, a, now, H))


@given(a=stats, b=stats, c=stats, now=times)
def test_merge_is_associative(a: thompson.ArmStats, b: thompson.ArmStats, c: thompson.ArmStats, now: float) -> None:
    left = thompson.merge(thompson.merge(a, b, now, H), c, now, H)
    right = thompson.merge(a, thompson.merge(b, c, now, H), now, H)
    assert close(left, right)


@given(s=stats)
def test_decay_halves_the_mass_after_one_half_life(s: thompson.ArmStats) -> None:
    later = thompson.decayed(s, s.at + H, H)
    assert math.isclose(later.alpha, s.alpha / 2, abs_tol=1e-12)
    assert math.isclose(later.beta, s.beta / 2, abs_tol=1e-12)


def test_a_clock_behind_the_stats_never_inflates_them() -> None:
    s = thompson.ArmStats(4.0, 2.0, 100.0)
    assert thompson.decayed(s, 50.0, H) == s


def test_failure_earns_nothing_and_fast_cheap_success_earns_most() -> None:
    kw = {"latency_target_ms": 2000.0, "budget_usd": 0.01}
    assert thompson.reward(False, 10.0, 0.0, **kw) == 0.0
    fast = thompson.reward(True, 100.0, 0.001, **kw)
    slow = thompson.reward(True, 8000.0, 0.001, **kw)
    assert 0.4 < slow < fast <= 1.0


def test_reward_keeps_ranking_latencies_well_beyond_the_target() -> None:
    # The old clamp gave every call slower than 1 s the same latency credit; these must still differ.
    kw = {"latency_target_ms": 1000.0, "budget_usd": 0.01}
    assert thompson.reward(True, 3000.0, 0.0, **kw) > thompson.reward(True, 9000.0, 0.0, **kw)


def test_request_sizes_map_to_three_buckets() -> None:
    assert [thompson.bucket_of(n) for n in (10, 5000, 50_000)] == list(thompson.Bucket)


def test_sampling_favours_the_arm_with_more_reward() -> None:
    view = {
        ("good", thompson.Bucket.SMALL): thompson.ArmStats(90.0, 10.0, 0.0),
        ("bad", thompson.Bucket.SMALL): thompson.ArmStats(10.0, 90.0, 0.0),
    }
    rng = random.Random(3)
    wins = 0
    for _ in range(200):
        good, bad = thompson.sample(["good", "bad"], thompson.Bucket.SMALL, view, 0.0, H, rng)
        wins += good > bad
    assert wins > 190


def test_old_evidence_fades_so_a_changed_arm_is_relearnt() -> None:
    s = thompson.ArmStats()
    for k in range(100):
        s = thompson.observe(s, 1.0, float(k), H)
    assert thompson.mean(s, 100.0, H) > 0.95
    for k in range(100, 100 + 3000, 10):
        s = thompson.observe(s, 0.0, float(k), H)
    assert thompson.mean(s, 3100.0, H) < 0.1
