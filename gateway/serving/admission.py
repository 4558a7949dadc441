"""Budgets and rate limits at the door: reserve an upper bound before the upstream call, settle after it.

The bound is ``gateway.accounting.bounds``: the most any candidate can bill for the request, or a 400 naming the
parameter whose charge cannot be bounded. The unused part of a reservation goes back to this replica's lease
the moment the request ends. A key's ``rateLimit.concurrent`` is counted in memory, per replica: taking a slot
costs no round trip, so with N replicas a key can have up to N times its limit in flight
(``docs/reliability.md``).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from gateway.accounting import bounds, leases, values
from gateway.config import snapshot
from gateway.serving import auth, errors


def estimate(body: dict[str, Any], models: list[snapshot.ModelEntry]) -> values.Estimate:
    """The reservation for ``body`` over its candidates; raises ``InvalidRequest`` naming an unboundable field."""
    try:
        return bounds.estimate(body, [model.spec for model in models])
    except bounds.Unpriced as exc:
        raise errors.InvalidRequest(f"{exc.param}: {exc.message}", param=exc.param, code="unpriced_parameter") from exc


def refusal_error(refusal: values.Refusal) -> errors.RequestFailed:
    if refusal.reason == "unavailable":
        return errors.NoCapacity(refusal.message, retry_after=refusal.retry_after_s)
    code = "budget_exceeded" if refusal.reason == "budget" else "rate_limit_exceeded"
    return errors.RateLimited(refusal.message, retry_after=refusal.retry_after_s, code=code)


async def admit(
    manager: leases.LeaseManager, key: auth.KeyContext, body: dict[str, Any], models: list[snapshot.ModelEntry]
) -> values.Reservation:
    limits = values.Limits.of(key.spec)
    verdict = await manager.admit(values.KeyRef(key.namespace, key.name), limits, estimate(body, models))
    if isinstance(verdict, values.Refusal):
        raise refusal_error(verdict)
    return verdict


async def extend(
    manager: leases.LeaseManager,
    reservation: values.Reservation,
    charged_usd: Decimal,
    body: dict[str, Any],
    models: list[snapshot.ModelEntry],
) -> values.Reservation | None:
    """Before the next attempt: the reservation must cover what failed attempts were charged plus the bound of the
    candidates still to try. Grown when it does not (None when the budget cannot cover it: try no further)."""
    need = charged_usd + estimate(body, models).cost_usd - reservation.cost_usd
    if need <= 0:
        return reservation
    verdict = await manager.extend(reservation, need)
    return None if isinstance(verdict, values.Refusal) else verdict


@dataclasses.dataclass(eq=False, slots=True)
class Slot:
    """One request of a key in flight on this replica; ``release`` it once, when the request ends (idempotent)."""

    _owner: InFlight
    _key: tuple[str, str]
    _held: bool = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._owner.release(self._key)


class InFlight:
    """Requests in flight per ApiKey on this replica, held against each key's ``rateLimit.concurrent``."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self.refused: dict[tuple[str, str], int] = {}  # refusals per key, read by the metrics at scrape time

    def acquire(self, key: auth.KeyContext) -> Slot | None:
        """A slot for one more request of ``key``; None when the key has no concurrency limit (nothing to hold).

        Raises ``ConcurrencyLimited`` when the key already has ``rateLimit.concurrent`` requests in flight here.
        """
        rate = key.spec.rate_limit
        limit = rate.concurrent if rate is not None else None
        if limit is None:
            return None
        ref = (key.namespace, key.name)
        held = self._counts.get(ref, 0)
        if held >= limit:
            self.refused[ref] = self.refused.get(ref, 0) + 1
            raise errors.ConcurrencyLimited(
                f"this API key already has {limit} requests in flight (rateLimit.concurrent)",
                code="concurrency_limit_exceeded",
                retry_after=1,
            )
        self._counts[ref] = held + 1
        return Slot(self, ref)

    def release(self, ref: tuple[str, str]) -> None:
        left = self._counts[ref] - 1
        if left:
            self._counts[ref] = left
        else:
            del self._counts[ref]

    def held(self, namespace: str, name: str) -> int:
        return self._counts.get((namespace, name), 0)
