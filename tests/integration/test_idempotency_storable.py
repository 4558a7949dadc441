"""Idempotency records hold whatever reaches the store: a key or header with NUL or a lone surrogate is stored
escaped, and the claim, the stored answer and the replay still work (the API accepts only printable keys; this is
the store's own guard)."""

from __future__ import annotations

import datetime as dt

import psycopg

from gateway.store import idempotency_repo

TTL = dt.timedelta(minutes=5)


async def test_unstorable_keys_and_headers_are_stored_escaped_and_replayed(
    pg_conn: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    key_id, idem_key, digest = "key\x00id", "order\ud800-1", b"\x01" * 32
    first = await idempotency_repo.claim(pg_conn, key_id, idem_key, digest, TTL)
    assert first.claim is idempotency_repo.Claim.WON
    await idempotency_repo.complete(
        pg_conn, key_id, idem_key, 3_000_000_000, {"x-tokenhub-decision\x00": "mode=cheap\ud800"}, b"{}"
    )

    again = await idempotency_repo.claim(pg_conn, key_id, idem_key, digest, TTL)
    assert again.claim is idempotency_repo.Claim.DONE
    assert again.status == 2**31 - 1  # clamped into the int4 column
    assert again.headers == {"x-tokenhub-decision\\u0000": "mode=cheap\\ud800"}
    cur = await pg_conn.execute("SELECT key_id, idem_key FROM idempotency_keys")
    assert await cur.fetchall() == [("key\\u0000id", "order\\ud800-1")]

    await idempotency_repo.release(pg_conn, key_id, idem_key)
    assert (await idempotency_repo.claim(pg_conn, key_id, idem_key, digest, TTL)).claim is idempotency_repo.Claim.WON
