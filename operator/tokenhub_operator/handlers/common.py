"""What every kind's handlers share: the resource coordinates, the clock, and writing status then raising.

A resource is ``Ready`` only when every gateway will serve it as written: its ``Compiled`` condition comes from
the gateways' own compile run on it among the objects stored in its namespace (``snapshot.problems_for``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from gateway.config import specs
from gateway.store import errors as store_errors
from tokenhub_operator import errors, reconciler, status

GROUP, VERSION = specs.API_GROUP, specs.API_VERSION


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def context(memo: Any) -> reconciler.Context:
    ctx: reconciler.Context = memo.ctx
    return ctx


def write_status(
    patch_status: Any,
    body: Mapping[str, Any],
    conditions: Iterable[status.Condition],
    **fields: Any,
) -> dict[str, Any]:
    """Set conditions (with Ready first) and extra fields on the status patch; returns the status written."""
    wanted = list(conditions)
    previous = (body.get("status") or {}).get("conditions")
    generation = body.get("metadata", {}).get("generation")
    written = {
        "conditions": status.conditions([status.ready(wanted), *wanted], previous, generation, now()),
        "observedGeneration": generation,
        **fields,
    }
    for key, value in written.items():
        patch_status[key] = value
    return written


def settle(
    ctx: reconciler.Context,
    patch_status: Any,
    body: Mapping[str, Any],
    conditions: Iterable[status.Condition],
    **fields: Any,
) -> None:
    """Write status; while a condition is not True, raise so Kopf retries (what it waits for may appear)."""
    wanted = list(conditions)
    write_status(patch_status, body, wanted, **fields)
    waiting = [c for c in wanted if c.status is not True]
    if waiting:
        raise errors.to_kopf(errors.WaitingFor(waiting[0].message), ctx.settings.temporary_delay_s)


def fail(patch_status: Any, body: Mapping[str, Any], exc: Exception, delay: float) -> Exception:
    """Record why the resource is not ready and turn the failure into Kopf's retry semantics."""
    reason = {
        errors.SpecInvalid: "InvalidSpec",
        errors.WaitingFor: "Waiting",
    }.get(type(exc), "StoreUnavailable")
    write_status(patch_status, body, [status.Condition("Stored", False, reason, str(exc))])
    return errors.to_kopf(exc, delay)


async def remove(memo: Any, body: Mapping[str, Any]) -> reconciler.Context:
    """Delete the resource's rows (the finalizer's work); a store outage is retried."""
    ctx = context(memo)
    try:
        await reconciler.remove(ctx, reconciler.document_ref(body))
    except store_errors.StoreError as exc:
        raise errors.to_kopf(exc, ctx.settings.temporary_delay_s) from exc
    return ctx


__all__ = ["GROUP", "VERSION", "context", "fail", "kopf", "now", "remove", "settle", "write_status"]
