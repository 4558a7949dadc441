"""Stored Responses (``store`` not false): written after the answer by one task, read by id within an ApiKey.

The request never waits on this write: ``save`` puts the row in memory, where this replica reads it at once, and
the writer task inserts queued rows in batches as soon as it is free. A replica that has not seen the row yet
reads Postgres, and on a miss reads once more after ``miss_retry_s``: the replica that answered may still be
writing it. Rows wait in memory up to ``capacity_bytes``; beyond that, or when Postgres refuses a row for its
content, the row is dropped, logged and counted (``tokenhub_stored_responses_dropped_total``), never silently.
While Postgres is down the queue is retried with a pause; ``stop`` flushes it. Expired rows are swept in chunks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from gateway.observability import metrics as metrics_mod
from gateway.serving import supervisor as supervisor_mod
from gateway.store import errors as store_errors
from gateway.store import pool, responses_repo

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True)
class StoreSettings:
    retention: dt.timedelta = dt.timedelta(days=30)
    capacity_bytes: int = 64 * 1024 * 1024
    batch_size: int = 100
    retry_delay_s: float = 1.0
    miss_retry_s: float = 0.2
    sweep_interval_s: float = 300.0
    sweep_chunk: int = 10_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _size(row: responses_repo.StoredResponse) -> int:
    return len(row.conversation) + len(row.response) + 256


class ResponseStore:
    def __init__(
        self,
        db: pool.Database,
        metrics: metrics_mod.Metrics,
        settings: StoreSettings | None = None,
        *,
        clock: Clock = _now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._db = db
        self._metrics = metrics
        self.settings = settings or StoreSettings()
        self._clock = clock
        self._sleep = sleep
        self._pending: dict[str, responses_repo.StoredResponse] = {}  # saved, not yet known to be written
        self._queue: collections.deque[str] = collections.deque()
        self._bytes = 0
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._writer: supervisor_mod.Supervised | None = None
        self._sweeper: supervisor_mod.Supervised | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def expiry(self) -> dt.datetime:
        """When a response saved now expires."""
        return self._clock() + self.settings.retention

    def save(self, row: responses_repo.StoredResponse) -> None:
        """Keep ``row``: readable here at once, in Postgres soon after. Never waits."""
        size = _size(row)
        if self._bytes + size > self.settings.capacity_bytes:
            self._metrics.child(self._metrics.stored_responses_dropped, "queue_full").inc()
            log.error(
                "stored response %s dropped: %d bytes already wait to be written (Postgres unreachable?)",
                row.id,
                self._bytes,
            )
            return
        self._pending[row.id] = row
        self._queue.append(row.id)
        self._bytes += size
        self._wakeup.set()

    async def find(self, response_id: str, namespace: str, name: str) -> responses_repo.StoredResponse | None:
        """The stored response ``response_id`` of the ApiKey ``namespace/name``; ``None`` when it has none.

        Raises ``store.errors.StoreUnavailable`` when Postgres cannot be read.
        """
        for attempt in range(2):
            row = self._pending.get(response_id)
            if row is not None:
                return row if (row.key_namespace, row.key_name) == (namespace, name) else None
            async with self._db.connection("stored responses") as conn:
                row = await responses_repo.fetch(conn, response_id, namespace, name)
            if row is not None or attempt or self.settings.miss_retry_s <= 0:
                return row
            await self._sleep(self.settings.miss_retry_s)  # another replica may still be writing it
        return None

    async def delete(self, response_id: str, namespace: str, name: str) -> bool:
        """Forget a stored response of this ApiKey; whether there was one."""
        row = self._pending.get(response_id)
        removed = False
        if row is not None and (row.key_namespace, row.key_name) == (namespace, name):
            self._forget(row)
            removed = True
        async with self._db.connection("stored responses") as conn:
            removed = await responses_repo.delete(conn, response_id, namespace, name) or removed
        return removed

    def _forget(self, row: responses_repo.StoredResponse) -> None:
        if self._pending.get(row.id) is row:
            del self._pending[row.id]
            self._bytes -= _size(row)

    # -- the writer ------------------------------------------------------------------------------------------
    async def run_writer(self) -> None:
        """Insert queued rows in batches until stopped (``stop``); runs under the replica's supervisor."""
        while True:
            batch = self._next_batch()
            if not batch:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                await self._write(batch)
            except store_errors.StoreUnavailable as exc:
                self._metrics.stored_responses_write_errors.inc()
                if self._stopping:
                    self._give_up(str(exc))
                    return
                log.warning("stored responses not written yet (%s); %d waiting, retrying", exc, len(self._pending))
                await self._sleep(self.settings.retry_delay_s)

    def _next_batch(self) -> list[responses_repo.StoredResponse]:
        batch: list[responses_repo.StoredResponse] = []
        while self._queue and len(batch) < self.settings.batch_size:
            row = self._pending.get(self._queue[0])
            if row is None:  # deleted before it was written
                self._queue.popleft()
                continue
            batch.append(row)
            self._queue.popleft()
        for row in reversed(batch):  # back at the front until written
            self._queue.appendleft(row.id)
        return batch

    async def _write(self, batch: list[responses_repo.StoredResponse]) -> None:
        try:
            async with self._db.connection("stored responses") as conn:
                await responses_repo.insert_batch(conn, batch)
        except store_errors.StatementRejected:
            if len(batch) == 1:
                self._reject(batch[0])
                return
            for row in batch:  # one row's content is refused: write the others one by one
                await self._write([row])
            return
        for _ in batch:
            self._queue.popleft()
        deleted = [row.id for row in batch if self._pending.get(row.id) is not row]
        for row in batch:
            self._forget(row)
        self._metrics.stored_responses_written.inc(len(batch))
        if deleted:  # deleted while its insert was on the way: delete it again now that it has landed
            try:
                async with self._db.connection("stored responses") as conn:
                    await responses_repo.delete_ids(conn, deleted)
            except store_errors.StoreError as exc:
                log.error("stored responses %s were deleted while being written and may remain: %s", deleted, exc)

    def _reject(self, row: responses_repo.StoredResponse) -> None:
        if self._queue and self._queue[0] == row.id:
            self._queue.popleft()
        self._forget(row)
        self._metrics.child(self._metrics.stored_responses_dropped, "rejected").inc()
        log.error("stored response %s dropped: Postgres refused its content", row.id)

    def _give_up(self, reason: str) -> None:
        lost = len(self._pending)
        if lost:
            self._metrics.child(self._metrics.stored_responses_dropped, "shutdown").inc(lost)
            log.error("shutdown: %d stored responses could not be written (%s)", lost, reason)
        self._pending.clear()
        self._queue.clear()
        self._bytes = 0

    def start(self, supervisor: supervisor_mod.Supervisor) -> None:
        """Run the writer and the expiry sweep under the replica's supervisor."""
        self._writer = supervisor.start("stored-responses-writer", self.run_writer)
        self._sweeper = supervisor.start("stored-responses-expiry", self.run_expiry)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (bounded by ``timeout_s``; what is left then is counted as lost), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self._writer is not None:
            self._writer.hurry()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._writer.finished(), timeout_s)
            await self._writer.stop()
        self._give_up("the flush at shutdown did not finish")

    # -- expiry ----------------------------------------------------------------------------------------------
    async def sweep_once(self) -> int:
        """Delete every expired row, a chunk at a time; the number deleted."""
        total = await pool.sweep_all(self._db, "stored responses", responses_repo.sweep, self.settings.sweep_chunk)
        if total:
            self._metrics.stored_responses_expired.inc(total)
        return total

    async def run_expiry(self) -> None:
        """Sweep expired rows every ``sweep_interval_s`` (any replica may; deleting twice is harmless)."""
        while True:
            await self.sweep_once()
            await self._sleep(self.settings.sweep_interval_s)
