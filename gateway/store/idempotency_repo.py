"""Idempotency records in Postgres: claim a key, store the response, replay it to retries on any replica.

A claim is one ``INSERT ... ON CONFLICT DO NOTHING``: exactly one request wins it, across replicas. Expired
records are replaced as if absent. Only requests that carry an ``Idempotency-Key`` pay these round trips.
Values are made storable (``storable``) on the way in; two keys that only storing would make equal belong to one
client, and the request hash still tells their requests apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from gateway.store import storable

_KEY_CAP = 255  # the API accepts 1-255 printable ASCII characters: its keys pass unchanged


class Claim(enum.Enum):
    WON = "won"  # this request runs; store its response afterwards
    DONE = "done"  # a response is stored: replay it
    IN_PROGRESS = "in_progress"  # another request with this key is running
    MISMATCH = "mismatch"  # the key was used with a different request body


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    claim: Claim
    status: int | None = None
    headers: dict[str, str] | None = None
    body: bytes | None = None


async def claim(
    conn: psycopg.AsyncConnection[Any], key_id: str, idem_key: str, request_hash: bytes, ttl: dt.timedelta
) -> Stored:
    key_id, idem_key = storable.text(key_id, _KEY_CAP), storable.text(idem_key, _KEY_CAP)
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM idempotency_keys WHERE key_id = %s AND idem_key = %s AND expires_at <= now()",
            (key_id, idem_key),
        )
        cur = await conn.execute(
            "INSERT INTO idempotency_keys (key_id, idem_key, request_hash, state, expires_at)"
            " VALUES (%s, %s, %s, 'in_progress', now() + %s) ON CONFLICT DO NOTHING",
            (key_id, idem_key, request_hash, ttl),
        )
        if cur.rowcount == 1:
            return Stored(Claim.WON)
        cur = await conn.execute(
            "SELECT request_hash, state, status, headers, body FROM idempotency_keys"
            " WHERE key_id = %s AND idem_key = %s",
            (key_id, idem_key),
        )
        row = await cur.fetchone()
    if row is None:  # expired and swept between the two statements: try once more
        return await claim(conn, key_id, idem_key, request_hash, ttl)
    if bytes(row[0]) != request_hash:
        return Stored(Claim.MISMATCH)
    if row[1] == "in_progress":
        return Stored(Claim.IN_PROGRESS)
    return Stored(Claim.DONE, row[2], row[3], bytes(row[4]) if row[4] is not None else b"")


async def complete(
    conn: psycopg.AsyncConnection[Any], key_id: str, idem_key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET state = 'done', status = %s, headers = %s, body = %s"
        " WHERE key_id = %s AND idem_key = %s",
        (
            storable.integer(status, storable.INT4),
            Jsonb(storable.json_value(headers)),
            body,
            storable.text(key_id, _KEY_CAP),
            storable.text(idem_key, _KEY_CAP),
        ),
    )


async def release(conn: psycopg.AsyncConnection[Any], key_id: str, idem_key: str) -> None:
    """Forget a claim whose request failed on our side, so that a retry runs again."""
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE key_id = %s AND idem_key = %s",
        (storable.text(key_id, _KEY_CAP), storable.text(idem_key, _KEY_CAP)),
    )


async def sweep(conn: psycopg.AsyncConnection[Any], limit: int = 10_000) -> int:
    """Delete up to ``limit`` expired records; the number deleted (the caller repeats while it is ``limit``)."""
    cur = await conn.execute(
        "DELETE FROM idempotency_keys WHERE (key_id, idem_key) IN"
        " (SELECT key_id, idem_key FROM idempotency_keys WHERE expires_at <= now() LIMIT %s)",
        (limit,),
    )
    return cur.rowcount
