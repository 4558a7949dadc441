"""The words of budget and rate-limit accounting: keys, limits, estimates, and what admission hands back.

Budgets run per calendar month (UTC), rate limits per UTC minute; both are named here once so the ledger, the
lease manager and the store agree on the boundaries. All money is ``Decimal``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Literal

from gateway.accounting import pricing
from gateway.config import specs

ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class KeyRef:
    """An ApiKey resource: limits belong to it, not to one of its (rotated) key strings."""

    namespace: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    budget_usd: Decimal | None = None  # per calendar month, UTC
    rpm: int | None = None
    tpm: int | None = None

    @classmethod
    def of(cls, spec: specs.ApiKeySpec) -> Limits:
        budget = spec.monthly_budget_usd
        rate = spec.rate_limit
        return cls(
            budget_usd=pricing.usd(budget) if budget is not None else None,
            rpm=rate.rpm if rate else None,
            tpm=rate.tpm if rate else None,
        )

    @property
    def unlimited(self) -> bool:
        return self.budget_usd is None and self.rpm is None and self.tpm is None


@dataclasses.dataclass(frozen=True, slots=True)
class Estimate:
    """Upper bounds for one request: exactness holds as long as the actual cost and tokens stay within them."""

    cost_usd: Decimal
    tokens: int


@dataclasses.dataclass(frozen=True, slots=True)
class Reservation:
    id: str  # "<holder>:<sequence>", unique across replicas and restarts
    key: KeyRef
    period: str | None  # the budget period charged, None when the key has no budget
    window: int | None  # the minute window counted, None when the key has no rate limit
    cost_usd: Decimal
    tokens: int
    leased: bool = True  # False when admitted fail-open without a lease


Reason = Literal["budget", "rpm", "tpm", "unavailable"]


@dataclasses.dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    message: str
    retry_after_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Shortfall:
    """Not enough held locally; a refill from Postgres may cover it. Amounts are what is missing."""

    budget_usd: Decimal = ZERO
    requests: int = 0
    tokens: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Charge:
    """A settled cost, to be written in the same transaction as the request's log row."""

    reservation_id: str
    key: KeyRef
    period: str
    holder: str
    cost_usd: Decimal


def period_of(now: dt.datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


def window_of(now: dt.datetime) -> int:
    """Minutes since the Unix epoch: the rate-limit window ``now`` falls in."""
    return int(now.timestamp() // 60)


def window_start(window: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(window * 60, dt.UTC)


def seconds_to_next_window(now: dt.datetime) -> float:
    return max(0.0, (window_start(window_of(now) + 1) - now).total_seconds())


def period_end(now: dt.datetime) -> dt.datetime:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)
