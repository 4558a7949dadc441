"""Migrations are applied once even when several processes start at the same moment."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import psycopg

from gateway.store import errors, migrate

SCRIPT = "import asyncio, sys; from gateway.store import migrate; print(asyncio.run(migrate.migrate(sys.argv[1])))"


def test_three_processes_racing_apply_each_migration_exactly_once(empty_database_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, empty_database_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    expected = [m.version for m in migrate.available()]
    # One process applied them all; the others waited on the lock and found nothing to do.
    assert sorted(outputs, key=len) == ["[]", "[]", str(expected)]
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == expected


async def test_a_database_from_a_newer_version_is_refused(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')")
    try:
        await migrate.migrate(database_url)
    except errors.MigrationError as exc:
        assert "999" in str(exc)
    else:
        raise AssertionError("a newer schema must be refused")


async def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    assert await migrate.migrate(database_url) == []
    await asyncio.sleep(0)
