"""Apply the versioned SQL migrations in order, once, safely when several replicas start together.

A session-level advisory lock serialises migrators: the first applies what is missing, the others wait and then
find nothing to do. Each migration runs in its own transaction together with its ``schema_migrations`` row, so a
failure leaves the schema at the previous version, never half-way. A database migrated by newer code (a version
this code does not know) is refused rather than used blindly.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re

import psycopg

from gateway.store import errors

MIGRATION_LOCK = 0x746F6B656E687562  # "tokenhub" as a 64-bit advisory lock key
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    folder = importlib.resources.files("gateway.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise errors.MigrationError(f"migration versions must be 1..N without gaps, found {versions}")
    return found


async def migrate(url: str) -> list[int]:
    """Bring the schema up to date; returns the versions this call applied."""
    migrations = available()
    try:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot connect to Postgres: {exc}") from exc
    applied: list[int] = []
    async with conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            unknown = done - {m.version for m in migrations}
            if unknown:
                raise errors.MigrationError(
                    f"the database has migrations {sorted(unknown)} this version does not know; upgrade TokenHub"
                )
            for migration in migrations:
                if migration.version in done:
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(migration.sql.encode())
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (migration.version, migration.name),
                        )
                except psycopg.Error as exc:
                    raise errors.MigrationError(f"migration {migration.name} failed: {exc}") from exc
                applied.append(migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied
