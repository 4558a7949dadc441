"""Budgets and rate limits at the door: reserve an upper bound before the upstream call, settle after it.

The bound must really be an upper bound for the budget to be exact: input tokens are bounded by the bytes of the
request (``gateway.tokens.bound``: no tokenizer makes a token out of less than one byte, so this also bounds the
estimate a cut stream is charged) plus a per-message allowance, output tokens by
``max_tokens`` or else the model's output limit or context window; the cost bound is the most expensive candidate
at those counts, its input priced at the dearest of the input, cache-read and cache-write prices (the provider
decides which of them a prompt's tokens are billed at). The unused part of a reservation goes back to this
replica's lease the moment the request ends. A key's ``rateLimit.concurrent`` is counted in memory, per replica:
taking a slot costs no round trip, so with N replicas a key can have up to N times its limit in flight
(``docs/reliability.md``).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import orjson

from gateway import tokens
from gateway.accounting import leases, pricing, values
from gateway.config import snapshot
from gateway.serving import auth, errors

PER_MESSAGE_TOKENS = 16
PER_REQUEST_TOKENS = 64


def input_bound(body: dict[str, Any]) -> int:
    messages = body.get("messages") or []
    size = tokens.bound(orjson.dumps(messages)) + tokens.bound(orjson.dumps(body.get("tools") or []))
    size += tokens.bound(orjson.dumps(body.get("system") or "")) + tokens.bound(orjson.dumps(body.get("input") or ""))
    return size + PER_MESSAGE_TOKENS * len(messages) + PER_REQUEST_TOKENS


def output_bound(body: dict[str, Any], model: snapshot.ModelEntry) -> int:
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(requested, int) and requested > 0:
        return requested
    if "input" in body and "messages" not in body:
        return 0  # embeddings produce no output tokens
    return model.spec.max_output_tokens or model.spec.context_window


def estimate(body: dict[str, Any], models: list[snapshot.ModelEntry]) -> values.Estimate:
    tokens_in = input_bound(body)
    worst_cost = Decimal(0)
    worst_tokens = 0
    for model in models:
        tokens_out = output_bound(body, model)
        # however the input splits into uncached, cache-read and cache-written tokens
        worst_cost = max(worst_cost, pricing.Prices.of_spec(model.spec.pricing).bound(tokens_in, tokens_out))
        worst_tokens = max(worst_tokens, tokens_in + tokens_out)
    return values.Estimate(worst_cost, worst_tokens)


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
