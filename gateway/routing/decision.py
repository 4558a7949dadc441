"""Decision: the outcome of routing one request, cheap to build and explained on demand.

The engine stores index arrays; candidates, per-term breakdowns and rejection messages are built only when
read, so ranking a thousand models allocates list slots, not objects. ``header()`` is the bounded ASCII
``x-tokenhub-decision`` value; ``to_json()`` is the full form served by the simulate endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gateway.routing import eligibility, failover, modes, scoring
from gateway.routing import table as tables

HEADER_MAX = 512
FIELD_MAX = 96
_HEADER_UNSAFE = str.maketrans({";": "_", "=": "_", ",": "_", ":": "_"})


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    provider: str
    upstream_model: str
    context_window: int
    score: float
    est_cost_usd: float
    degraded: bool


@dataclass(frozen=True, slots=True)
class Decision:
    table: tables.RoutingTable
    policy: str
    mode: modes.Mode
    reason: str
    limits: eligibility.Limits
    weights: modes.ModeWeights
    signals: scoring.ProviderSignals
    bounds: tuple[float, float]
    indices: Sequence[int]  # candidate model indices, unranked
    scores: Sequence[float]  # aligned with indices
    costs: Sequence[float]  # aligned with indices
    ranking: Sequence[int]  # positions into indices, best first
    compliant: int  # the first ``compliant`` ranked candidates meet every constraint; the rest are degraded
    chain: tuple[int, ...]  # the models considered, in order, for an explicit name; empty: all models
    alias: str | None = None
    attempts: tuple[failover.Attempt, ...] = ()

    @property
    def deadline_ms(self) -> float | None:
        limit = self.limits.max_latency_ms
        return None if math.isinf(limit) else limit

    def candidate(self, rank: int) -> Candidate:
        pos = self.ranking[rank]
        m = self.table.models[self.indices[pos]]
        return Candidate(
            name=m.name,
            provider=m.provider,
            upstream_model=m.upstream_model,
            context_window=m.context_window,
            score=self.scores[pos],
            est_cost_usd=self.costs[pos],
            degraded=rank >= self.compliant,
        )

    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(self.candidate(r) for r in range(len(self.ranking)))

    @property
    def chosen(self) -> Candidate | None:
        return self.candidate(0) if self.ranking else None

    @property
    def runner_up(self) -> Candidate | None:
        return self.candidate(1) if len(self.ranking) > 1 else None

    @property
    def degraded(self) -> bool:
        return bool(self.ranking) and self.compliant == 0

    def breakdown(self, rank: int) -> scoring.Terms:
        pos = self.ranking[rank]
        return scoring.terms(self.table, self.indices[pos], self.costs[pos], self.weights, self.signals, self.bounds)

    def rejections(self) -> tuple[eligibility.Rejection, ...]:
        """Every considered model that failed a filter (degraded candidates included), with its reason."""
        t, sig, limits = self.table, self.signals, self.limits
        out = []
        for i in self.chain or range(len(t.models)):
            why = eligibility.reason(t, i, limits, sig.blocked, sig.slow)
            if why is not None:
                out.append(eligibility.describe(t, i, why, limits, sig.latency_ms[t.provider_of[i]]))
        return tuple(out)

    def with_attempt(self, attempt: failover.Attempt) -> Decision:
        return replace(self, attempts=(*self.attempts, attempt))

    def header(self) -> str:
        parts = [f"mode={self.mode}"]
        if (best := self.chosen) is not None:
            parts += [f"model={_safe(best.name)}", f"score={best.score:.4f}"]
        if (second := self.runner_up) is not None:
            parts.append(f"runner_up={_safe(second.name)}:{second.score:.4f}")
        if self.alias:
            parts.append(f"alias={_safe(self.alias)}")
        if self.degraded:
            parts.append("degraded=1")
        parts.append(f"reason={_safe(self.reason)}")
        text = "; ".join(parts)
        return text if len(text) <= HEADER_MAX else text[: HEADER_MAX - 3] + "..."

    def to_json(self) -> dict[str, Any]:
        ranked = []
        for rank, c in enumerate(self.candidates()):
            t = self.breakdown(rank)
            terms = {"cost": t.cost, "latency": t.latency, "failure": t.failure, "weight": t.weight}
            ranked.append(
                {
                    "model": c.name,
                    "provider": c.provider,
                    "score": c.score,
                    "terms": terms,
                    "est_cost_usd": c.est_cost_usd,
                    "degraded": c.degraded,
                }
            )
        best, second = self.chosen, self.runner_up
        return {
            "policy": self.policy,
            "mode": str(self.mode),
            "model": best.name if best else None,
            "score": best.score if best else None,
            "terms": ranked[0]["terms"] if ranked else None,
            "runner_up": {"model": second.name, "score": second.score} if second else None,
            "reason": self.reason,
            "alias": self.alias,
            "degraded": self.degraded,
            "deadline_ms": self.deadline_ms,
            "estimated_tokens": {"input": self.limits.input_tokens, "output": self.limits.output_tokens},
            "ranked": ranked,
            "rejected": [{"model": r.model, "reason": str(r.reason), "message": r.message} for r in self.rejections()],
            "attempts": [
                {
                    "model": a.model,
                    "provider": a.provider,
                    "error": None if a.error is None else str(a.error),
                    "latency_ms": a.latency_ms,
                    "delay_s": a.delay_s,
                }
                for a in self.attempts
            ],
        }


def _safe(text: str) -> str:
    """Header-safe: printable ASCII without the header's own separators, at most ``FIELD_MAX`` long."""
    if len(text) > FIELD_MAX:
        text = text[: FIELD_MAX - 3] + "..."
    ascii_only = "".join(ch if " " < ch < "\x7f" else "?" for ch in text)
    return ascii_only.translate(_HEADER_UNSAFE)
