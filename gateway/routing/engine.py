"""route(): one request in, one explained Decision out; pure, so the same inputs give the same decision.

Steps: effective limits (the stricter of policy and request) → resolve the requested name (model, alias,
or free routing) → per-provider signals from the health view → eligibility → score (or Thompson samples) →
rank. Free routing ranks by score, ties by model name; an explicit model or alias keeps its chain order.
"""

from __future__ import annotations

import math
import random

from gateway.routing import aliases, decision, eligibility, errors, modes, scoring, thompson
from gateway.routing import health as healths
from gateway.routing import request as requests
from gateway.routing import table as tables


def _stricter(policy_value: float | None, request_value: float | None) -> float:
    a = policy_value if policy_value is not None and policy_value > 0 else math.inf
    b = request_value if request_value is not None and request_value > 0 else math.inf
    return a if a < b else b


def limits_for(t: tables.RoutingTable, policy: tables.RoutingPolicy, req: requests.RouteRequest) -> eligibility.Limits:
    return eligibility.Limits(
        input_tokens=max(req.input_tokens, 0),
        output_tokens=max(req.max_output_tokens, 0),
        capabilities=req.capabilities,
        budget_usd=_stricter(policy.max_budget_usd, req.max_budget_usd),
        min_weight=max(policy.min_weight, req.min_weight or 0),
        max_latency_ms=_stricter(policy.max_latency_ms, req.max_latency_ms),
        allowed=req.allowed_models,
        allow_degrade=policy.allow_degrade,
    )


def _reason(mode: modes.Mode, resolution: aliases.Resolution, compliant: int, ranked: int) -> str:
    if not ranked:
        return "no-eligible-model"
    if compliant == 0:
        return "degraded"
    if resolution.alias is not None:
        return "alias-variant"
    if resolution.chain:
        return "explicit-model"
    return "thompson-sample" if mode is modes.Mode.THOMPSON else "best-score"


def route(
    t: tables.RoutingTable,
    req: requests.RouteRequest,
    *,
    health: healths.HealthView,
    bandit: thompson.BanditView | None,
    now: float,
    rng: random.Random,
) -> decision.Decision:
    policy_name = req.policy or t.default_policy
    compiled = t.policies.get(policy_name)
    if compiled is None:
        raise errors.UnknownPolicy(policy_name)
    policy = compiled.policy
    mode = req.mode or policy.default_mode
    limits = limits_for(t, policy, req)
    resolution = aliases.resolve(t, compiled, req, rng)
    signals = scoring.provider_signals(t, health, now, limits.max_latency_ms)
    f = eligibility.apply(t, resolution.chain, limits, signals.blocked, signals.slow)
    weights = compiled.weights[mode]
    bounds = scoring.cost_bounds(t, limits.input_tokens, limits.output_tokens)
    indices, costs = f.strict + f.soft, f.strict_cost + f.soft_cost
    if mode is modes.Mode.THOMPSON:
        names = [t.models[i].name for i in indices]
        bucket = thompson.bucket_of(limits.input_tokens)
        scores = thompson.sample(names, bucket, bandit, now, policy.bandit.half_life_s, rng)
    else:
        scores = scoring.score_all(t, indices, costs, weights, signals, bounds)
    compliant = len(f.strict)
    strict_pos = range(compliant)
    soft_pos = range(compliant, len(indices))
    if resolution.chain:
        ranking = [*strict_pos, *soft_pos]
    else:
        # Stable sorts over name-ordered candidates: equal scores keep name order.
        key = scores.__getitem__
        ranking = sorted(strict_pos, key=key, reverse=True)
        if soft_pos:
            ranking += sorted(soft_pos, key=key, reverse=True)
    return decision.Decision(
        table=t,
        policy=policy_name,
        mode=mode,
        reason=_reason(mode, resolution, compliant, len(ranking)),
        limits=limits,
        weights=weights,
        signals=signals,
        bounds=bounds,
        indices=indices,
        scores=scores,
        costs=costs,
        ranking=ranking,
        compliant=compliant,
        chain=resolution.chain,
        alias=resolution.alias,
    )
