"""No request-log row is lost while Postgres is down: rows spool to a local file and are replayed once."""

from __future__ import annotations

import asyncio
import datetime as dt
import pathlib
from decimal import Decimal

import prometheus_client
import psycopg

from gateway.observability import metrics as metrics_mod
from gateway.serving import logwriter, spool
from gateway.store import logs_repo

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/postgres?connect_timeout=1"


def row(n: int) -> logs_repo.RequestLogRow:
    return logs_repo.RequestLogRow(
        request_id=f"spooled-{n}",
        created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        endpoint="chat.completions",
        status=200,
        latency_ms=12.5,
        cost_usd=Decimal("0.000123456789"),
        attempts=({"model": "m", "outcome": "ok"},),
    )


def writer(url: str, path: pathlib.Path) -> logwriter.LogWriter:
    metrics = metrics_mod.Metrics(prometheus_client.CollectorRegistry())
    return logwriter.LogWriter(url, metrics, max_delay_s=0.05, retry_delay_s=0.05, spool=spool.Spool(path))


async def test_rows_written_while_postgres_is_down_are_replayed_exactly_once(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "spool" / "request-logs.jsonl"
    down = writer(UNREACHABLE, path)
    down.start()
    for n in range(25):
        down.record(row(n))
    await down.stop(timeout_s=20)
    assert len(spool.Spool(path).read()) == 25

    up = writer(database_url, path)
    up.start()
    up.record(row(100))
    for _ in range(100):
        if not path.exists() and up.pending == 0:
            break
        await asyncio.sleep(0.05)
    await up.stop()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*), sum(cost_usd) FROM request_logs")
        count, total = await cur.fetchone() or (0, 0)
    assert count == 26
    assert total == Decimal("0.000123456789") * 26
    assert not path.exists()


def test_a_line_cut_by_a_crash_is_skipped_not_fatal(tmp_path: pathlib.Path) -> None:
    store = spool.Spool(tmp_path / "s.jsonl")
    store.append([(row(1), None), (row(2), None)])
    with store.path.open("ab") as file:
        file.write(b'{"request_id": "half')
    assert [r.request_id for r, _ in store.read()] == ["spooled-1", "spooled-2"]


def test_the_spool_is_bounded(tmp_path: pathlib.Path) -> None:
    one = len(spool.encode((row(0), None)))
    store = spool.Spool(tmp_path / "s.jsonl", max_bytes=one * 3)
    assert store.append([(row(n), None) for n in range(5)]) == 2
    assert len(store.read()) == 3
