"""The store's exception tree; psycopg errors are translated here and chained, never leaked upward.

StoreError
├── StoreUnavailable   the database cannot be reached or dropped the session (retry later; serve from memory)
├── StatementRejected  Postgres or the driver refused this statement or its values (sending it again fails again)
├── MigrationError     the schema cannot be brought up to date (fatal at start)
└── VaultMismatch      the vault password does not open the stored vault (fatal: fix the password)

Callers above the store switch on these classes: a connectivity failure is worth retrying unchanged, a rejected
statement is not (a bad value, a bug, a schema mismatch) and must be isolated instead.
"""

from __future__ import annotations

import psycopg


class StoreError(Exception):
    """Base of every store failure."""


class StoreUnavailable(StoreError):
    """Postgres is down or unreachable, or the session broke while a statement ran."""


class StatementRejected(StoreError):
    """Postgres (or psycopg, before sending) refused the statement or one of its values."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class MigrationError(StoreError):
    """A migration failed or the database is newer than this code."""


class VaultMismatch(StoreError):
    """The configured vault password does not unlock the vault stored in the database."""


# SQLSTATE classes that say nothing against the statement: connection exception, transaction rollback
# (serialisation, deadlock), insufficient resources, object not in prerequisite state (lock not available),
# operator intervention (shutdown, cancel), system error, internal error.
_NOT_THE_STATEMENT = frozenset({"08", "40", "53", "55", "57", "58", "XX"})


def translate(exc: psycopg.Error, what: str, *, broken: bool = False) -> StoreError:
    """The store's class for ``exc`` (raise it ``from exc``); ``broken`` when the session died with it.

    A server error is classified by its SQLSTATE class (54 "program limit exceeded", say an index row too large,
    is the statement's fault although psycopg files it as operational); an error without one came from the
    client side: a connection that failed or closed (``StoreUnavailable``) or a value psycopg cannot send, such
    as a NUL in text (``StatementRejected``).
    """
    message = f"{what}: {exc}"
    state = exc.sqlstate
    if broken:
        return StoreUnavailable(message)
    if state is None:
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StoreUnavailable(message)
        return StatementRejected(message)
    if state[:2] in _NOT_THE_STATEMENT:
        return StoreUnavailable(message)
    return StatementRejected(message, state)
