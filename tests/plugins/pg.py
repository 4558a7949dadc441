"""Postgres for tests: one embedded server per session (or TOKENHUB_TEST_DATABASE_URL), a fresh database per test.

Each test gets its own database cloned from a migrated template, so tests are isolated and never see each
other's rows, and cloning costs far less than migrating again.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg import conninfo

from gateway.store import embedded, migrate

TEMPLATE = "tokenhub_test_template"


def with_dbname(url: str, dbname: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return conninfo.make_conninfo(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    given = os.environ.get("TOKENHUB_TEST_DATABASE_URL")
    if given:
        yield given
        return
    # Not under pytest's basetemp: a concurrent pytest session prunes old basetemp folders and would delete a
    # live data directory. Unix socket paths are limited to ~100 bytes, hence a short folder under /tmp.
    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="thpg-"))
    server = embedded.start(data_dir)
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> str:
    import asyncio

    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    asyncio.run(migrate.migrate(with_dbname(pg_server_url, TEMPLATE)))
    return TEMPLATE


@contextlib.contextmanager
def database(server_url: str, template: str | None) -> Iterator[str]:
    """A database of its own, dropped (even with connections left open) afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    clause = f" TEMPLATE {template}" if template else ""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}{clause}".encode())
    try:
        yield with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture
def database_url(pg_server_url: str, pg_template: str) -> Iterator[str]:
    """A migrated, empty database of this test's own."""
    with database(pg_server_url, pg_template) as url:
        yield url


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    """A database with no schema at all, for migration tests."""
    with database(pg_server_url, None) as url:
        yield url


class Outage:
    """Switches one test database off (no new connections, existing ones killed) and on again."""

    def __init__(self, server_url: str, database_url: str) -> None:
        self._server_url = server_url
        self._dbname = conninfo.conninfo_to_dict(database_url)["dbname"]

    async def switch(self, down: bool) -> None:
        async with await psycopg.AsyncConnection.connect(self._server_url, autocommit=True) as conn:
            await conn.execute(
                f"ALTER DATABASE {self._dbname} WITH ALLOW_CONNECTIONS {'false' if down else 'true'}".encode()
            )
            if down:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self._dbname,)
                )


@pytest.fixture
async def outage(pg_server_url: str, database_url: str) -> AsyncIterator[Outage]:
    """Take the test's database away from every client and give it back; it is back after the test."""
    switch = Outage(pg_server_url, database_url)
    yield switch
    await switch.switch(False)


@pytest.fixture
async def pg_conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        yield conn
