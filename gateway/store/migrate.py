"""Apply the versioned SQL migrations in order, once, safely when several replicas start together.

A session-level advisory lock serialises migrators: the first applies what is missing, the others wait and then
find nothing to do. Each migration runs in its own transaction together with its ``schema_migrations`` row, so a
failure leaves the schema at the previous version, never half-way. A database migrated by newer code (a version
this code does not know) is refused rather than used blindly.

``ensure`` applies a deployment's policy (``TOKENHUB_MIGRATE``): ``auto`` migrates, ``check`` only reads the
applied versions and refuses to start when the schema is behind (the role serving traffic then needs no DDL
right; ``tokenhub migrate`` runs once as the schema owner), ``off`` trusts the operator of the database. An up to
date schema is recognised by reading alone, so even ``auto`` runs no DDL when there is nothing to apply.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re

import psycopg
from psycopg import sql

from gateway.store import errors

MIGRATION_LOCK = 0x746F6B656E687562  # "tokenhub" as a 64-bit advisory lock key
MODES = ("auto", "check", "off")
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


def _unknown(done: set[int], migrations: list[Migration]) -> None:
    unknown = done - {m.version for m in migrations}
    if unknown:
        raise errors.MigrationError(
            f"the database has migrations {sorted(unknown)} this version does not know; upgrade TokenHub"
        )


async def _connect(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot connect to Postgres: {exc}") from exc


async def _applied(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[int] | None:
    """The versions recorded in ``schema_migrations``, or None when the table does not exist yet."""
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or row[0] is not True:
        return None
    cur = await conn.execute("SELECT version FROM schema_migrations")
    return {int(str(r[0])) for r in await cur.fetchall()}


async def pending(url: str) -> list[Migration]:
    """The migrations this code has that the database lacks, found by reading only (no lock, no DDL)."""
    migrations = available()
    try:
        async with await _connect(url) as conn:
            done = await _applied(conn) or set()
    except psycopg.Error as exc:
        raise errors.MigrationError(f"cannot read the schema version: {exc}") from exc
    _unknown(done, migrations)
    return [m for m in migrations if m.version not in done]


async def ensure(url: str, mode: str) -> list[int]:
    """Apply the start-up policy ``mode`` (one of ``MODES``); returns the versions applied."""
    if mode == "off":
        return []
    if mode == "auto":
        return await migrate(url)
    if mode != "check":
        raise ValueError(f"unknown migration mode {mode!r}")
    missing = await pending(url)
    if missing:
        names = ", ".join(m.name for m in missing)
        raise errors.MigrationError(
            f"the database schema is behind this version (missing {names}) and TOKENHUB_MIGRATE=check;"
            " run `tokenhub migrate` as the schema owner (the chart's migration Job does) and start again"
        )
    return []


async def migrate(url: str) -> list[int]:
    """Bring the schema up to date; returns the versions this call applied."""
    if not await pending(url):
        return []
    migrations = available()
    applied: list[int] = []
    async with await _connect(url) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
            except psycopg.Error as exc:
                raise errors.MigrationError(
                    f"cannot create schema_migrations (run as the schema owner): {exc}"
                ) from exc
            done = await _applied(conn) or set()
            _unknown(done, migrations)
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


async def grant(url: str, role: str) -> None:
    """Give ``role`` the row rights a gateway and the operator use on every table and sequence - and no DDL."""
    statements = (
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
    )
    try:
        async with await _connect(url) as conn:
            for statement in statements:
                await conn.execute(sql.SQL(statement).format(sql.Identifier(role)))
    except psycopg.Error as exc:
        raise errors.MigrationError(f"cannot grant the serving rights to {role!r}: {exc}") from exc
