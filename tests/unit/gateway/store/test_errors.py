"""psycopg errors become store errors by what a caller can do: retry later, or stop sending that statement."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest
from psycopg import errors as pg

from gateway.store import errors


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.OperationalError("connection refused"),  # no SQLSTATE: the client could not connect
        psycopg.InterfaceError("the connection is closed"),
        psycopg_pool.PoolTimeout("couldn't get a connection after 5.00 sec"),
        pg.AdminShutdown("terminating connection due to administrator command"),
        pg.SerializationFailure("could not serialize access"),
        pg.DeadlockDetected("deadlock detected"),
        pg.DiskFull("could not extend file"),
        pg.QueryCanceled("canceling statement due to user request"),
        pg.LockNotAvailable("could not obtain lock"),
        pg.InternalError_("could not read block"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_connectivity_and_server_side_trouble_is_worth_retrying(exc: psycopg.Error) -> None:
    translated = errors.translate(exc, "lease store")
    assert isinstance(translated, errors.StoreUnavailable)
    assert str(translated).startswith("lease store: ")


@pytest.mark.parametrize(
    ("exc", "sqlstate"),
    [
        (psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), None),  # refused client-side
        (pg.UntranslatableCharacter("unsupported Unicode escape sequence"), "22P05"),
        (pg.NumericValueOutOfRange("numeric field overflow"), "22003"),
        (pg.UniqueViolation("duplicate key value"), "23505"),
        (pg.UndefinedTable("relation does not exist"), "42P01"),
        (pg.ProgramLimitExceeded("index row size exceeds the maximum"), "54000"),  # psycopg calls it operational
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_a_statement_postgres_or_the_driver_refuses_is_rejected_with_its_sqlstate(
    exc: psycopg.Error, sqlstate: str | None
) -> None:
    translated = errors.translate(exc, "request log")
    assert isinstance(translated, errors.StatementRejected)
    assert translated.sqlstate == sqlstate


def test_any_error_on_a_session_that_broke_is_connectivity() -> None:
    translated = errors.translate(pg.UniqueViolation("duplicate key value"), "lease store", broken=True)
    assert isinstance(translated, errors.StoreUnavailable)
