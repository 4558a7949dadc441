"""A request-log row whose text came from a client is stored even when Postgres could not hold that text as is.

Found by the public-API fuzzer: a refusal echoing a NUL byte from the request made Postgres refuse the whole batch,
and the replay of that batch before every later one stopped the request log for good.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from gateway.store import logs_repo


async def test_nul_bytes_and_lone_surrogates_are_stored_escaped_beside_the_other_rows(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    hostile = logs_repo.RequestLogRow(
        "req-hostile", now, "chat", 400, 1.0, model="m\x00del", error_message="policy has unknown fields: \x00, \ud800"
    )
    plain = logs_repo.RequestLogRow("req-plain", now, "chat", 200, 1.0, model="gpt")
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await logs_repo.insert_batch(conn, [hostile, plain])
        cur = await conn.execute("SELECT request_id, model, error_message FROM request_logs ORDER BY request_id")
        rows = await cur.fetchall()
    assert rows == [
        ("req-hostile", "m\\u0000del", "policy has unknown fields: \\u0000, \\ud800"),
        ("req-plain", "gpt", None),
    ]
