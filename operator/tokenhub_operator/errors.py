"""The one place where failures become Kopf's retry semantics.

SpecInvalid       -> kopf.PermanentError   the spec cannot be stored; fix the resource
WaitingFor        -> kopf.TemporaryError   a referenced object (Secret, Provider) is missing; retry later
StoreUnavailable  -> kopf.TemporaryError   Postgres is unreachable; retry soon
"""

from __future__ import annotations

import kopf

from gateway.store import errors as store_errors


class SpecInvalid(Exception):
    """The resource's spec does not validate."""


class WaitingFor(Exception):
    """The resource is stored but depends on something that does not exist yet."""


def to_kopf(exc: Exception, delay: float) -> Exception:
    if isinstance(exc, SpecInvalid):
        return kopf.PermanentError(str(exc))
    if isinstance(exc, WaitingFor):
        return kopf.TemporaryError(str(exc), delay=delay)
    if isinstance(exc, store_errors.StoreError):
        return kopf.TemporaryError(f"the store is unavailable: {exc}", delay=min(delay, 10.0))
    return exc
