"""Each replica's request-log writer starts at most one batch per ``max_delay_s`` under steady traffic, so the
Postgres statements a replica sends stay flat as its request rate grows - and a lone row still waits no longer
than that delay. Batches are counted as the distinct transactions (``xmin``) that wrote the rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from decimal import Decimal

import prometheus_client
import psycopg

from gateway.observability import metrics as metrics_mod
from gateway.serving import logwriter
from gateway.store import logs_repo

DELAY_S = 0.5


def row(n: int) -> logs_repo.RequestLogRow:
    return logs_repo.RequestLogRow(
        request_id=f"paced-{n}",
        created_at=dt.datetime.now(dt.UTC),
        endpoint="chat.completions",
        status=200,
        latency_ms=3.0,
        cost_usd=Decimal("0.000001"),
    )


async def written(url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*), count(DISTINCT xmin::text) FROM request_logs")
        found = await cur.fetchone()
    assert found is not None
    return int(found[0]), int(found[1])


async def test_steady_traffic_is_written_in_paced_batches_and_a_lone_row_within_the_delay(database_url: str) -> None:
    writer = logwriter.LogWriter(
        database_url, metrics_mod.Metrics(prometheus_client.CollectorRegistry()), max_delay_s=DELAY_S
    )
    writer.start()
    try:
        writer.record(row(0))
        await asyncio.sleep(DELAY_S + 0.3)
        assert await written(database_url) == (1, 1)  # an idle writer does not sit on a row

        began = time.monotonic()
        for n in range(1, 401):  # a request every 5 ms, for about two seconds
            writer.record(row(n))
            await asyncio.sleep(0.005)
        elapsed = time.monotonic() - began
    finally:
        await writer.stop()
    rows, batches = await written(database_url)
    assert rows == 401
    # One batch per delay, plus the first and the flush at stop; writing whenever the last batch was done
    # made one transaction of every few rows here.
    assert batches - 1 <= elapsed / DELAY_S + 2, (batches, elapsed)
