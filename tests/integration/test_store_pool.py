"""The store's one way to Postgres: errors come out as store classes, and a pool outlives a Postgres outage.

Against the real server: a refused value and a syntax error are ``StatementRejected`` (and the connection stays
usable), an unreachable server is ``StoreUnavailable`` within the checkout timeout, and after every session was
killed the pool hands out a working connection again without each idle connection failing a caller first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.store import errors, pool
from tests.plugins.pg import Outage


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[pool.Database]:
    async with pool.Database(database_url, max_size=3, connect_timeout_s=1.0, checkout_timeout_s=5.0) as handle:
        yield handle


async def answer(db: pool.Database, *, timeout_s: float | None = None) -> int:
    async with db.connection("probe", timeout_s=timeout_s) as conn:
        cur = await conn.execute("SELECT 42")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_value_postgres_cannot_store_is_rejected_and_the_connection_stays_usable(db: pool.Database) -> None:
    with pytest.raises(errors.StatementRejected, match="NUL"):
        async with db.connection("request log") as conn:
            await conn.execute("SELECT %s::text", ("a\x00b",))
    assert await answer(db) == 42


async def test_a_statement_postgres_refuses_is_rejected_with_its_sqlstate(db: pool.Database) -> None:
    with pytest.raises(errors.StatementRejected) as info:
        async with db.connection("lease store") as conn:
            await conn.execute("SELEC 1")
    assert info.value.sqlstate == "42601" and str(info.value).startswith("lease store: ")
    assert await answer(db) == 42


async def test_an_unreachable_server_is_unavailable_within_the_checkout_timeout() -> None:
    loop = asyncio.get_running_loop()
    async with pool.Database("postgresql://127.0.0.1:1/nowhere", connect_timeout_s=1.0) as nowhere:
        started = loop.time()
        with pytest.raises(errors.StoreUnavailable, match="statistics exchange"):
            async with nowhere.connection("statistics exchange", timeout_s=1.0):
                pass
    assert loop.time() - started < 3.0


async def test_after_every_session_was_killed_one_caller_at_most_meets_a_dead_connection(
    db: pool.Database, outage: Outage
) -> None:
    # Three idle connections in the pool, then Postgres ends every session (as a restart would).
    assert await asyncio.gather(*(answer(db) for _ in range(3))) == [42, 42, 42]
    await outage.switch(True)
    await outage.switch(False)
    outcomes: list[object] = []
    for _ in range(3):
        try:
            outcomes.append(await answer(db))
        except errors.StoreUnavailable as exc:
            outcomes.append(type(exc))
    assert outcomes.count(42) >= 2 and outcomes[-2:] == [42, 42], outcomes


async def test_the_pool_connects_again_as_soon_as_postgres_takes_connections(db: pool.Database, outage: Outage) -> None:
    await outage.switch(True)
    for _ in range(3):  # failed attempts over a few seconds: psycopg_pool's own backoff would keep growing
        with pytest.raises(errors.StoreUnavailable):
            await answer(db, timeout_s=1.0)
    await outage.switch(False)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await answer(db, timeout_s=5.0) == 42
    assert loop.time() - started < 4.0
