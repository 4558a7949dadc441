"""A failed write is "rejected" when its rows could be to blame (set them aside), else "unavailable" (retry them)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pg_errors

from gateway.store import errors


@pytest.mark.parametrize(
    "sqlstate",
    [
        "22021",  # character not in repertoire
        "22003",  # numeric value out of range
        "22P05",  # untranslatable character (\u0000 in jsonb)
        "23502",  # not null violation
        "23514",  # check violation
        "54000",  # program limit exceeded: an index row too large (an OperationalError in psycopg)
        "P0001",  # a trigger's RAISE (a ProgrammingError in psycopg)
        "XX000",
    ],
)
def test_errors_the_rows_may_cause_are_rejections(sqlstate: str) -> None:
    failure = errors.classify(pg_errors.lookup(sqlstate)("refused"))
    assert isinstance(failure, errors.StoreRejected)
    assert failure.sqlstate == sqlstate


@pytest.mark.parametrize(
    "sqlstate",
    [
        "08006",  # connection failure
        "57P01",  # admin shutdown
        "57014",  # query canceled (statement timeout)
        "53300",  # too many connections
        "40P01",  # deadlock detected
        "55P03",  # lock not available
        "42P01",  # undefined table: no row causes it, a migration cures it
        "42501",  # insufficient privilege
        "3D000",  # invalid catalog name
    ],
)
def test_errors_no_row_causes_mean_the_store_is_unavailable(sqlstate: str) -> None:
    assert isinstance(errors.classify(pg_errors.lookup(sqlstate)("down")), errors.StoreUnavailable)


def test_client_side_failures_are_classified_by_what_broke() -> None:
    assert isinstance(errors.classify(psycopg.OperationalError("connection lost")), errors.StoreUnavailable)
    assert isinstance(errors.classify(psycopg.InterfaceError("the connection is closed")), errors.StoreUnavailable)
    nul = errors.classify(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))
    assert isinstance(nul, errors.StoreRejected) and nul.sqlstate is None
    surrogate = "\ud800".encode  # raises UnicodeEncodeError
    with pytest.raises(UnicodeEncodeError) as raised:
        surrogate()
    assert isinstance(errors.classify(raised.value), errors.StoreRejected)
    assert isinstance(errors.classify(OverflowError("int too big to convert")), errors.StoreRejected)
