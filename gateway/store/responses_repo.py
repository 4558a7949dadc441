"""Stored Responses API objects: written in batches after the answer, read by id within the owning ApiKey.

A row belongs to the ApiKey resource (namespace and name) that created it, so a rotated key keeps its
conversations and any other key finds nothing. Rows are written with ``ON CONFLICT DO NOTHING`` on the id, so a
batch retried after a failed commit never fails on the rows that did land. Expired rows are invisible at once
and deleted by ``sweep``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

COLUMNS = ("id", "key_namespace", "key_name", "provider", "native", "conversation", "response", "expires_at")


@dataclasses.dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_namespace: str
    key_name: str
    provider: str  # "namespace/name" of the Provider that answered
    native: bool  # answered by a native Responses upstream (which holds the id too)
    conversation: bytes  # JSON array: every input item the response answered, earlier turns included
    response: bytes  # JSON object: the Response as the client received it
    expires_at: dt.datetime

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in COLUMNS)


async def insert_batch(conn: psycopg.AsyncConnection[Any], rows: Sequence[StoredResponse]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO stored_responses ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
            " ON CONFLICT (id) DO NOTHING",
            [row.values() for row in rows],
        )


async def fetch(
    conn: psycopg.AsyncConnection[Any], response_id: str, namespace: str, name: str
) -> StoredResponse | None:
    cur = await conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM stored_responses"
        " WHERE id = %s AND key_namespace = %s AND key_name = %s AND expires_at > now()",
        (response_id, namespace, name),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    values = dict(zip(COLUMNS, row, strict=True))
    values["conversation"] = bytes(values["conversation"])
    values["response"] = bytes(values["response"])
    return StoredResponse(**values)


async def delete(conn: psycopg.AsyncConnection[Any], response_id: str, namespace: str, name: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM stored_responses WHERE id = %s AND key_namespace = %s AND key_name = %s AND expires_at > now()",
        (response_id, namespace, name),
    )
    return cur.rowcount > 0


async def delete_ids(conn: psycopg.AsyncConnection[Any], response_ids: Sequence[str]) -> None:
    await conn.execute("DELETE FROM stored_responses WHERE id = ANY(%s)", (list(response_ids),))


async def sweep(conn: psycopg.AsyncConnection[Any], limit: int = 10_000) -> int:
    """Delete up to ``limit`` expired rows; the number deleted (the caller repeats while it is ``limit``)."""
    cur = await conn.execute(
        "DELETE FROM stored_responses WHERE id IN (SELECT id FROM stored_responses WHERE expires_at <= now() LIMIT %s)",
        (limit,),
    )
    return cur.rowcount
