"""Issued client keys: the public id and SHA-256 of the secret per ApiKey resource, never the key itself.

Issuing, disabling and rotating are config changes like any other: they bump ``config_revision`` and NOTIFY in
the same transaction, so every replica drops a disabled key from its index as soon as it reloads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import psycopg

from gateway import keys
from gateway.config import documents
from gateway.store import config_repo


@dataclasses.dataclass(frozen=True, slots=True)
class KeyListing:
    namespace: str
    name: str
    key_id: str
    key_prefix: str
    created_at: dt.datetime
    valid_until: dt.datetime | None
    disabled: bool


async def _next_revision(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT revision FROM config_revision FOR UPDATE")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]) + 1


async def active_key_ids(url: str, ref: documents.ObjectRef) -> list[str]:
    """The usable keys of one ApiKey resource, newest first."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT key_id FROM api_keys WHERE namespace = %s AND name = %s AND NOT disabled"
            " AND (valid_until IS NULL OR valid_until > now()) ORDER BY created_at DESC",
            (ref.namespace, ref.name),
        )
        return [str(r[0]) for r in await cur.fetchall()]


async def issue(url: str, ref: documents.ObjectRef, issued: keys.IssuedKey | None = None) -> tuple[keys.IssuedKey, int]:
    """Store one more key for an ApiKey resource (a new one unless given); returns it and the revision."""
    issued = issued or keys.generate()
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        revision = await _next_revision(conn)
        await config_repo.insert_key(conn, ref, issued, revision)
        await config_repo.bump_revision(conn, revision)
    return issued, revision


async def retire(url: str, ref: documents.ObjectRef, grace: dt.timedelta) -> int:
    """End the validity of a resource's current keys after ``grace`` (rotation keeps the old key briefly)."""
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        revision = await _next_revision(conn)
        cur = await conn.execute(
            "UPDATE api_keys SET valid_until = now() + %s, revision = %s"
            " WHERE namespace = %s AND name = %s AND NOT disabled"
            " AND (valid_until IS NULL OR valid_until > now() + %s)",
            (grace, revision, ref.namespace, ref.name, grace),
        )
        if cur.rowcount:
            await config_repo.bump_revision(conn, revision)
        return cur.rowcount


async def listing(url: str) -> list[KeyListing]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT namespace, name, key_id, key_prefix, created_at, valid_until, disabled FROM api_keys"
            " ORDER BY namespace, name, created_at"
        )
        return [KeyListing(*row) for row in await cur.fetchall()]
