"""Thompson sampling over decayed Beta posteriors per (model, request-size bucket).

``merge`` decays both operands to the latest time and adds them: commutative and associative, so replicas can
exchange deltas (never totals, which would count shared evidence twice). Rewards use ``1 / (1 + x / scale)``
for latency and cost, which never saturates: a poor default scale blunts learning but never blinds it.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

SMALL_MAX_TOKENS = 1000
MEDIUM_MAX_TOKENS = 10_000
PRIOR_ALPHA = 1.0
PRIOR_BETA = 1.0
SUCCESS_SHARE = 0.4
LATENCY_SHARE = 0.3
COST_SHARE = 0.3
NORMAL_FROM = 10.0


class Bucket(enum.StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


def bucket_of(input_tokens: int) -> Bucket:
    if input_tokens < SMALL_MAX_TOKENS:
        return Bucket.SMALL
    return Bucket.MEDIUM if input_tokens <= MEDIUM_MAX_TOKENS else Bucket.LARGE


@dataclass(frozen=True, slots=True)
class ArmStats:
    alpha: float = 0.0  # decayed reward mass (successes)
    beta: float = 0.0  # decayed shortfall mass (failures)
    at: float = 0.0  # the time both masses are expressed at


BanditView = Mapping[tuple[str, Bucket], ArmStats]


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    if elapsed_s <= 0:
        return 1.0
    return float(0.5 ** (elapsed_s / half_life_s))


def decayed(s: ArmStats, now: float, half_life_s: float) -> ArmStats:
    """``s`` brought forward to ``now`` (never backwards: a clock behind ``s.at`` leaves it unchanged)."""
    if now <= s.at:
        return s
    f = decay_factor(now - s.at, half_life_s)
    return ArmStats(s.alpha * f, s.beta * f, now)


def merge(a: ArmStats, b: ArmStats, now: float, half_life_s: float) -> ArmStats:
    at = max(now, a.at, b.at)
    fa = decay_factor(at - a.at, half_life_s)
    fb = decay_factor(at - b.at, half_life_s)
    return ArmStats(a.alpha * fa + b.alpha * fb, a.beta * fa + b.beta * fb, at)


def reward(success: bool, latency_ms: float, cost_usd: float, *, latency_target_ms: float, budget_usd: float) -> float:
    """In [0, 1]: 0 for a failure; a success earns 0.4 plus latency and cost credit (half at the target)."""
    if not success:
        return 0.0
    latency_credit = 1.0 / (1.0 + max(latency_ms, 0.0) / latency_target_ms)
    cost_credit = 1.0 / (1.0 + max(cost_usd, 0.0) / budget_usd)
    return SUCCESS_SHARE + LATENCY_SHARE * latency_credit + COST_SHARE * cost_credit


def observe(s: ArmStats, r: float, now: float, half_life_s: float) -> ArmStats:
    r = min(max(r, 0.0), 1.0)
    return merge(s, ArmStats(r, 1.0 - r, now), now, half_life_s)


def posterior(s: ArmStats | None, now: float, half_life_s: float) -> tuple[float, float]:
    if s is None:
        return PRIOR_ALPHA, PRIOR_BETA
    f = decay_factor(now - s.at, half_life_s)
    return PRIOR_ALPHA + s.alpha * f, PRIOR_BETA + s.beta * f


def mean(s: ArmStats | None, now: float, half_life_s: float) -> float:
    a, b = posterior(s, now, half_life_s)
    return a / (a + b)


def draw(a: float, b: float, rng: random.Random) -> float:
    """A Beta(a, b) draw; with both masses >= ``NORMAL_FROM`` the moment-matched normal (5x cheaper, skew
    under 0.6) stands in for the exact gamma-ratio draw."""
    if a < NORMAL_FROM or b < NORMAL_FROM:
        return rng.betavariate(a, b)
    n = a + b
    x = rng.gauss(a / n, math.sqrt(a * b / (n * n * (n + 1.0))))
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


def sample(
    names: list[str], bucket: Bucket, view: BanditView | None, now: float, half_life_s: float, rng: random.Random
) -> list[float]:
    """One posterior draw per arm, aligned with ``names``."""
    if not view:
        return [rng.betavariate(PRIOR_ALPHA, PRIOR_BETA) for _ in names]
    get = view.get
    draws = []
    for name in names:
        a, b = posterior(get((name, bucket)), now, half_life_s)
        draws.append(draw(a, b, rng))
    return draws
