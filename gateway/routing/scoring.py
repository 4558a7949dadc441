"""Scores in [0, 1], higher is better: Wc(1-n_cost) + Wl(1-n_latency) + Wf(1-n_failure) + Ww*weight/10.

Cost and latency are normalised in log space between bounds that ignore which models survived filtering
(the table's price extremes at this request's token counts; the fastest and slowest provider seen), so a
score never moves when another candidate drops out. Failure is the EWMA error rate, saturating at 25 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.routing import health as healths
from gateway.routing import modes
from gateway.routing import table as tables

COST_UNIT_USD = 1e-6  # log1p(cost / unit): free models score 0 without a log(0)
FAILURE_SCALE = 0.25
UNKNOWN_LATENCY = 0.5


@dataclass(frozen=True, slots=True)
class Terms:
    """One candidate's score split into its weighted contributions (they add up to ``total``)."""

    cost: float
    latency: float
    failure: float
    weight: float

    @property
    def total(self) -> float:
        return self.cost + self.latency + self.failure + self.weight


@dataclass(frozen=True, slots=True)
class ProviderSignals:
    """Per-provider inputs of one decision, index-aligned with ``RoutingTable.providers``."""

    blocked: list[bool]  # cooling down: no traffic at all
    slow: list[bool]  # observed latency above the request's limit
    latency_ms: list[float | None]
    latency_norm: list[float]
    failure_norm: list[float]


def provider_signals(
    t: tables.RoutingTable, view: healths.HealthView, now: float, max_latency_ms: float
) -> ProviderSignals:
    n = len(t.providers)
    blocked, slow = [False] * n, [False] * n
    latency: list[float | None] = [None] * n
    logs: list[float | None] = [None] * n
    failure = [0.0] * n
    lo, hi = math.inf, -math.inf
    get, log1p, down = view.get, math.log1p, healths.State.DOWN
    for p, name in enumerate(t.providers):
        h = get(name)
        if h is None:
            continue
        if now < h.retry_after_until or (h.state is down and now < h.down_until):
            blocked[p] = True
        if h.error_rate:
            failure[p] = min(h.error_rate / FAILURE_SCALE, 1.0)
        x = h.latency_ms
        if x is not None:
            latency[p] = x
            slow[p] = x > max_latency_ms
            lx = logs[p] = log1p(x)
            lo = lx if lx < lo else lo
            hi = lx if lx > hi else hi
    inv = 1.0 / (hi - lo) if hi > lo else 0.0
    norm = [UNKNOWN_LATENCY if lx is None else (lx - lo) * inv for lx in logs]
    return ProviderSignals(blocked, slow, latency, norm, failure)


def cost_bounds(t: tables.RoutingTable, input_tokens: int, output_tokens: int) -> tuple[float, float]:
    """(log-space low, 1 / log-space span) of this request's possible costs over the whole table."""
    min_in, max_in, min_out, max_out = t.price_bounds
    lo = math.log1p((input_tokens * min_in + output_tokens * min_out) / COST_UNIT_USD)
    hi = math.log1p((input_tokens * max_in + output_tokens * max_out) / COST_UNIT_USD)
    return lo, (1.0 / (hi - lo) if hi > lo else 0.0)


def score_all(
    t: tables.RoutingTable,
    indices: list[int],
    costs: list[float],
    w: modes.ModeWeights,
    signals: ProviderSignals,
    bounds: tuple[float, float],
) -> list[float]:
    """Scores aligned with ``indices``; the hot path of a decision, so it is one comprehension."""
    lo, inv = bounds
    slope = w.cost * inv
    base = w.cost + slope * lo
    provider_term = [
        w.latency * (1.0 - ln) + w.failure * (1.0 - fn)
        for ln, fn in zip(signals.latency_norm, signals.failure_norm, strict=True)
    ]
    log1p, k, ww = math.log1p, 1.0 / COST_UNIT_USD, w.weight
    wn, po = t.weight_norm, t.provider_of
    return [
        base - slope * log1p(c * k) + ww * wn[i] + provider_term[po[i]] for i, c in zip(indices, costs, strict=True)
    ]


def terms(
    t: tables.RoutingTable,
    i: int,
    cost: float,
    w: modes.ModeWeights,
    signals: ProviderSignals,
    bounds: tuple[float, float],
) -> Terms:
    lo, inv = bounds
    n_cost = (math.log1p(cost / COST_UNIT_USD) - lo) * inv
    p = t.provider_of[i]
    return Terms(
        cost=w.cost * (1.0 - n_cost),
        latency=w.latency * (1.0 - signals.latency_norm[p]),
        failure=w.failure * (1.0 - signals.failure_norm[p]),
        weight=w.weight * t.weight_norm[i],
    )
