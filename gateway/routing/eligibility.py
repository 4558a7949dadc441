"""Eligibility: which models may serve a request, and why each other one may not.

Hard filters (disabled, capability, context incl. max output, key allow-list, provider cooldown) are bitmask
operations on the table and never relaxed; soft ones (budget, minimum weight, latency limit) are relaxed only
under a degrade-allowing policy, ranking their rejects last. Reasons are re-derived only when read.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.routing import table as tables


class RejectReason(enum.StrEnum):
    DISABLED = "disabled"
    CAPABILITY = "capability_missing"
    CONTEXT = "context_overflow"
    NOT_ALLOWED = "not_allowed_for_key"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    OVER_BUDGET = "over_budget"
    BELOW_MIN_WEIGHT = "below_min_weight"
    TOO_SLOW = "over_latency_limit"


SOFT_REASONS = frozenset({RejectReason.OVER_BUDGET, RejectReason.BELOW_MIN_WEIGHT, RejectReason.TOO_SLOW})


@dataclass(frozen=True, slots=True)
class Limits:
    """The effective per-request constraints, after the policy and the request overrides are combined."""

    input_tokens: int
    output_tokens: int
    capabilities: frozenset[str]
    budget_usd: float  # inf when unlimited
    min_weight: int
    max_latency_ms: float  # inf when unlimited
    allowed: frozenset[str] | None
    allow_degrade: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    model: str
    reason: RejectReason
    message: str


@dataclass(slots=True)
class Filtered:
    """Scratch result of one filtering pass (lists aligned pairwise: model index, estimated cost)."""

    strict: list[int]
    strict_cost: list[float]
    soft: list[int]
    soft_cost: list[float]


def hard_mask(t: tables.RoutingTable, limits: Limits, blocked: list[bool]) -> int:
    """The models that pass every hard filter, as a bitmask."""
    mask = t.with_capabilities(limits.capabilities)
    mask &= t.with_context(limits.input_tokens + limits.output_tokens)
    if limits.allowed is not None:
        index = t.index
        mask &= sum(1 << index[n] for n in limits.allowed if n in index)
    if True in blocked:
        for p, is_blocked in enumerate(blocked):
            if is_blocked:
                mask &= ~t.provider_masks[p]
    return mask


def apply(
    t: tables.RoutingTable, chain: Sequence[int], limits: Limits, blocked: list[bool], slow: list[bool]
) -> Filtered:
    """Candidates in table order (or in ``chain`` order when given), split into compliant and degraded."""
    mask = hard_mask(t, limits, blocked)
    rows: Sequence[tables.Row]
    if chain:
        rows = [t.rows[i] for i in chain if mask >> i & 1]
    elif mask == t.enabled_mask:
        rows = t.enabled_rows
    else:
        rows = [r for r in t.enabled_rows if mask >> r[0] & 1]
    out = Filtered([], [], [], [])
    strict, strict_cost = out.strict.append, out.strict_cost.append
    tin, tout, budget, min_w = limits.input_tokens, limits.output_tokens, limits.budget_usd, limits.min_weight
    degrade = limits.allow_degrade
    for i, price_in, price_out, weight, p in rows:
        cost = tin * price_in + tout * price_out
        if cost <= budget and weight >= min_w and not slow[p]:
            strict(i)
            strict_cost(cost)
        elif degrade:
            out.soft.append(i)
            out.soft_cost.append(cost)
    return out


def estimated_cost(t: tables.RoutingTable, i: int, input_tokens: int, output_tokens: int) -> float:
    return input_tokens * t.price_in[i] + output_tokens * t.price_out[i]


def reason(
    t: tables.RoutingTable, i: int, limits: Limits, blocked: list[bool], slow: list[bool]
) -> RejectReason | None:
    """The first filter model ``i`` fails, in the order the filters are documented; None if it passes."""
    m = t.models[i]
    p = t.provider_of[i]
    window = m.context_window
    if not m.enabled:
        return RejectReason.DISABLED
    if not limits.capabilities <= m.capabilities:
        return RejectReason.CAPABILITY
    if window > 0 and window < limits.input_tokens + limits.output_tokens:
        return RejectReason.CONTEXT
    if limits.allowed is not None and m.name not in limits.allowed:
        return RejectReason.NOT_ALLOWED
    if blocked[p]:
        return RejectReason.PROVIDER_UNAVAILABLE
    if estimated_cost(t, i, limits.input_tokens, limits.output_tokens) > limits.budget_usd:
        return RejectReason.OVER_BUDGET
    if m.weight < limits.min_weight:
        return RejectReason.BELOW_MIN_WEIGHT
    if slow[p]:
        return RejectReason.TOO_SLOW
    return None


def describe(t: tables.RoutingTable, i: int, why: RejectReason, limits: Limits, latency_ms: float | None) -> Rejection:
    """The human-readable form of one rejection."""
    m = t.models[i]
    tin, tout = limits.input_tokens, limits.output_tokens
    if why is RejectReason.DISABLED:
        text = "model is disabled"
    elif why is RejectReason.CAPABILITY:
        text = f"lacks capabilities {', '.join(sorted(limits.capabilities - m.capabilities))}"
    elif why is RejectReason.CONTEXT:
        text = f"needs {tin + tout} tokens ({tin} in + {tout} out), context window is {m.context_window}"
    elif why is RejectReason.NOT_ALLOWED:
        text = "the API key may not use this model"
    elif why is RejectReason.PROVIDER_UNAVAILABLE:
        text = f"provider {m.provider!r} is cooling down"
    elif why is RejectReason.OVER_BUDGET:
        cost = estimated_cost(t, i, tin, tout)
        text = f"estimated cost {cost:.6f} USD exceeds the budget of {limits.budget_usd:.6f} USD"
    elif why is RejectReason.BELOW_MIN_WEIGHT:
        text = f"weight {m.weight} is below the minimum {limits.min_weight}"
    else:
        observed = math.nan if latency_ms is None else latency_ms
        text = f"provider latency {observed:.0f} ms exceeds the limit of {limits.max_latency_ms:.0f} ms"
    return Rejection(m.name, why, text)
