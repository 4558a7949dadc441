"""The store's exception tree; psycopg errors are translated here and chained, never leaked upward.

StoreError
├── StoreUnavailable   the database cannot be reached (retry later; serve from memory meanwhile)
├── StoreRejected      Postgres refused the values a statement carried (retrying the same rows cannot help)
├── MigrationError     the schema cannot be brought up to date (fatal at start)
└── VaultMismatch      the vault password does not open the stored vault (fatal: fix the password)

``classify`` tells the two kinds of write failure apart, so that a refused row is set aside instead of
being retried forever, and rows that no fault of theirs kept out wait for the store to come back.
"""

from __future__ import annotations

import psycopg


class StoreError(Exception):
    """Base of every store failure."""


class StoreUnavailable(StoreError):
    """Postgres is down or unreachable."""


class StoreRejected(StoreError):
    """Postgres (or the client encoding the statement) refused the values; ``sqlstate`` is None client-side."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class MigrationError(StoreError):
    """A migration failed or the database is newer than this code."""


class VaultMismatch(StoreError):
    """The configured vault password does not unlock the vault stored in the database."""


# SQLSTATE classes of failures that no row causes (see ``classify``).
_UNAVAILABLE_CLASSES = frozenset({"08", "57", "53", "58", "40", "55", "25", "3D", "28", "42", "0A"})
# Raised while a value is turned into bytes, before Postgres sees it (a lone surrogate, an int beyond int8).
ENCODING_ERRORS = (ValueError, TypeError, OverflowError)


def classify(exc: psycopg.Error | ValueError | TypeError | OverflowError) -> StoreUnavailable | StoreRejected:
    """The store error a failed write stands for; raise it ``from exc``.

    Only failures no row causes are "unavailable", so the rows wait and are retried: connection loss (SQLSTATE
    class 08), shutdown (57), resources (53), system errors (58), lock and transaction conflicts (40, 55, 25), and
    the deployment's own faults - a missing database, role, privilege or table (3D, 28, 42, 0A) - which a fix
    cures without touching the rows. Anything else is "rejected": a data exception (22), a violated constraint
    (23), an index row too large (54), a trigger's refusal (P0), or a value the client cannot encode.
    """
    if not isinstance(exc, psycopg.Error):
        return StoreRejected(f"{type(exc).__name__}: {exc}")
    sqlstate = exc.sqlstate
    if sqlstate is None:  # raised by psycopg itself, not by the server
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StoreUnavailable(str(exc))  # the connection broke, or was closed under us
        return StoreRejected(str(exc))  # a value refused client-side (NUL in text)
    if sqlstate[:2] in _UNAVAILABLE_CLASSES:
        return StoreUnavailable(str(exc))
    return StoreRejected(str(exc), sqlstate)
