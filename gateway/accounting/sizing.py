"""How big a lease to ask for: a decayed rate of recent demand times a horizon, never a greedy share.

A chunk covering ``horizon_s`` of the key's recent demand keeps Postgres statements per request low (one grant
per horizon), while ``divisor`` caps each grant at a fraction of what is still free, so near the limit grants
shrink geometrically and no replica can sit on the remainder while the others are refused.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_DOWN, Decimal

QUANTUM = Decimal("1e-12")  # the store keeps money as numeric(24, 12): grants must be representable exactly


@dataclasses.dataclass(frozen=True, slots=True)
class Sizing:
    horizon_s: float = 60.0  # a chunk covers this much recent demand
    tau_s: float = 20.0  # time constant of the demand rate
    burst_requests: int = 16  # a first chunk covers at least this many requests like the current one
    low_water: float = 0.5  # refill in the background when less than this fraction of a chunk is left
    divisor: int = 4  # a grant beyond the need is at most 1/divisor of what is free


@dataclasses.dataclass(frozen=True, slots=True)
class Rate:
    """An exponentially decayed rate in units per second; ``at`` is the time of the last update (seconds)."""

    per_s: float = 0.0
    at: float | None = None

    def value(self, t: float, tau_s: float) -> float:
        if self.at is None or t <= self.at:
            return self.per_s
        return self.per_s * math.exp(-(t - self.at) / tau_s)

    def add(self, amount: float, t: float, tau_s: float) -> Rate:
        return Rate(self.value(t, tau_s) + amount / tau_s, t if self.at is None else max(t, self.at))


def chunk_usd(sizing: Sizing, rate_usd_per_s: float, last_cost: Decimal) -> Decimal:
    """The budget a replica wants to hold for a key: its recent spend over the horizon, at least a burst."""
    by_rate = Decimal(repr(rate_usd_per_s * sizing.horizon_s)).quantize(QUANTUM, ROUND_DOWN)
    return max(by_rate, last_cost * sizing.burst_requests)


def chunk_count(sizing: Sizing, rate_per_s: float, last: int) -> int:
    """Requests or tokens a replica wants for a minute window: recent demand over the horizon, at least a burst."""
    return max(math.ceil(rate_per_s * sizing.horizon_s), last * sizing.burst_requests, 1)


def share(sizing: Sizing, free: Decimal, need: Decimal, want: Decimal) -> Decimal:
    """The grant out of ``free``: the need if it is there, else up to ``want`` but no more than 1/divisor."""
    if free <= 0:
        return Decimal(0)
    return min(free, max(need, min(want, (free / sizing.divisor).quantize(QUANTUM, ROUND_DOWN))))
