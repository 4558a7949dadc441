"""The stored-responses writer against real Postgres: nothing waits on it, nothing is lost silently.

A saved response is readable at once from memory, written after the answer, kept through an outage and written
when Postgres returns; a row Postgres refuses is dropped and counted without costing the others; expired rows are
invisible and swept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import prometheus_client
import psycopg
import pytest

from gateway.observability import metrics as metrics_mod
from gateway.serving import stored_responses, supervisor
from gateway.store import pool, responses_repo
from tests.plugins.pg import Outage

NOW = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)


def row(
    response_id: str, *, name: str = "tester", expires_at: dt.datetime | None = None
) -> responses_repo.StoredResponse:
    return responses_repo.StoredResponse(
        id=response_id,
        key_namespace="default",
        key_name=name,
        provider="default/vllm",
        native=False,
        conversation=b'[{"type":"message","role":"user","content":"hi"}]',
        response=b'{"id":"' + response_id.encode() + b'","object":"response","output":[]}',
        expires_at=expires_at or dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )


class Harness:
    def __init__(self, database_url: str, capacity_bytes: int = 1 << 20) -> None:
        self.db = pool.Database(database_url, connect_timeout_s=1.0, checkout_timeout_s=1.0)
        self.metrics = metrics_mod.Metrics(prometheus_client.CollectorRegistry())
        settings = stored_responses.StoreSettings(
            capacity_bytes=capacity_bytes, retry_delay_s=0.05, miss_retry_s=0, sweep_interval_s=3600
        )
        self.store = stored_responses.ResponseStore(self.db, self.metrics, settings, clock=lambda: NOW)
        self.loops = supervisor.Supervisor()
        self.database_url = database_url

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value("tokenhub_stored_responses_dropped_total", {"reason": reason})
        return value or 0.0

    def failed_writes(self) -> float:
        return self.metrics.registry.get_sample_value("tokenhub_stored_responses_write_errors_total") or 0.0

    async def written(self) -> None:
        async with asyncio.timeout(10):
            while self.store.pending:  # noqa: ASYNC110 - the writer offers no event to wait on
                await asyncio.sleep(0.01)

    async def ids(self) -> list[str]:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute("SELECT id FROM stored_responses ORDER BY id")
            return [r[0] for r in await cur.fetchall()]


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    h = Harness(database_url)
    h.store.start(h.loops)
    try:
        yield h
    finally:
        await h.store.stop()
        await h.loops.stop()
        await h.db.close()


async def test_a_saved_response_is_readable_at_once_and_written_after(harness: Harness) -> None:
    harness.store.save(row("resp_a"))
    found = await harness.store.find("resp_a", "default", "tester")
    assert found is not None and found.response.startswith(b'{"id":"resp_a"')
    assert await harness.store.find("resp_a", "default", "someone-else") is None
    await harness.written()
    assert await harness.ids() == ["resp_a"]
    assert harness.metrics.registry.get_sample_value("tokenhub_stored_responses_written_total") == 1


async def test_responses_saved_during_an_outage_are_written_when_postgres_returns(
    harness: Harness, outage: Outage
) -> None:
    await outage.switch(True)
    for n in range(3):
        harness.store.save(row(f"resp_{n}"))
    assert (await harness.store.find("resp_1", "default", "tester")) is not None  # from memory, no Postgres
    async with asyncio.timeout(10):
        while harness.failed_writes() < 2:  # noqa: ASYNC110 - the writer offers no event to wait on
            await asyncio.sleep(0.01)
    assert harness.store.pending == 3, "after failed attempts the rows still wait, none dropped"
    await outage.switch(False)
    await harness.written()
    assert await harness.ids() == ["resp_0", "resp_1", "resp_2"]


async def test_a_row_postgres_refuses_is_dropped_and_counted_and_the_rest_are_written(harness: Harness) -> None:
    for response_id in ("resp_good_1", "resp_\x00bad", "resp_good_2"):
        harness.store.save(row(response_id))
    await harness.written()
    assert await harness.ids() == ["resp_good_1", "resp_good_2"]
    assert harness.dropped("rejected") == 1


async def test_beyond_its_capacity_the_queue_drops_and_counts(database_url: str) -> None:
    size = len(row("resp_0").conversation) + len(row("resp_0").response) + 256
    h = Harness(database_url, capacity_bytes=size * 2)
    for n in range(3):
        h.store.save(row(f"resp_{n}"))
    assert h.store.pending == 2 and h.dropped("queue_full") == 1
    await h.db.close()


async def test_expired_responses_are_invisible_then_swept(harness: Harness) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    harness.store.save(row("resp_old", expires_at=past))
    harness.store.save(row("resp_new"))
    await harness.written()
    assert await harness.store.find("resp_old", "default", "tester") is None
    assert await harness.store.find("resp_new", "default", "tester") is not None
    assert await harness.store.delete("resp_old", "default", "tester") is False
    assert await harness.store.sweep_once() == 1
    assert await harness.ids() == ["resp_new"]
    assert harness.metrics.registry.get_sample_value("tokenhub_stored_responses_expired_total") == 1


async def test_stop_writes_what_is_queued(database_url: str) -> None:
    h = Harness(database_url)
    h.store.start(h.loops)
    for n in range(5):
        h.store.save(row(f"resp_{n}"))
    await h.store.stop()
    await h.loops.stop()
    await h.db.close()
    assert await h.ids() == [f"resp_{n}" for n in range(5)]


async def test_retention_sets_the_expiry_from_the_injected_clock(database_url: str) -> None:
    h = Harness(database_url)
    assert h.store.expiry() == NOW + dt.timedelta(days=30)
    await h.db.close()


async def test_a_replica_that_misses_a_row_still_being_written_reads_once_more(database_url: str) -> None:
    """Replica A answered and still writes; replica B misses the row, pauses once, and finds it."""
    a = Harness(database_url)
    a.store.save(row("resp_fresh"))  # A's writer is not running yet: the row is only in A's memory
    pauses: list[float] = []

    async def a_finishes_writing(seconds: float) -> None:
        pauses.append(seconds)
        if not a.loops.loops:
            a.store.start(a.loops)
        await a.written()

    b = stored_responses.ResponseStore(
        a.db, a.metrics, stored_responses.StoreSettings(miss_retry_s=0.2), clock=lambda: NOW, sleep=a_finishes_writing
    )
    try:
        found = await b.find("resp_fresh", "default", "tester")
        assert found is not None and pauses == [0.2]
        assert await b.find("resp_never", "default", "tester") is None and pauses == [0.2, 0.2]
    finally:
        await a.store.stop()
        await a.loops.stop()
        await a.db.close()
