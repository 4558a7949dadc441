"""Routing modes and their default term weights.

The defaults keep the older system's table (cost, latency, failure, weight); a policy may override any mode.
Weights are normalised to sum to 1 when a table is compiled, so every deterministic score lies in [0, 1].
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class Mode(enum.StrEnum):
    CHEAP = "cheap"
    NORMAL = "normal"
    HIGH_CONFIDENCE = "high_confidence"
    PLANNING = "planning"
    THOMPSON = "thompson"


@dataclass(frozen=True, slots=True)
class ModeWeights:
    cost: float
    latency: float
    failure: float
    weight: float

    def normalised(self) -> ModeWeights:
        terms = (self.cost, self.latency, self.failure, self.weight)
        if any(t < 0 for t in terms):
            raise ValueError("mode weights must not be negative")
        total = sum(terms)
        if total <= 0:
            raise ValueError("mode weights must not all be zero")
        return ModeWeights(self.cost / total, self.latency / total, self.failure / total, self.weight / total)


DEFAULT_WEIGHTS: Final = MappingProxyType(
    {
        Mode.CHEAP: ModeWeights(cost=0.70, latency=0.10, failure=0.10, weight=0.10),
        Mode.NORMAL: ModeWeights(cost=0.25, latency=0.25, failure=0.25, weight=0.25),
        Mode.HIGH_CONFIDENCE: ModeWeights(cost=0.05, latency=0.10, failure=0.15, weight=0.70),
        Mode.PLANNING: ModeWeights(cost=0.10, latency=0.10, failure=0.20, weight=0.60),
        # Thompson ranks by posterior samples; these weights only explain the candidates' static merits.
        Mode.THOMPSON: ModeWeights(cost=0.25, latency=0.25, failure=0.25, weight=0.25),
    }
)
