"""One task writes request-log rows in batches, so a request never waits on Postgres for its log row.

``record`` only appends to a bounded in-memory queue. The writer takes up to ``batch_size`` rows at a time and
COPYs them, starting a batch at most every ``max_delay_s`` unless a full batch is waiting. A batch costs 8
statements, so a replica's log costs about 16 statements/s at any rate up to 1,000 requests/s (writing whenever the
previous batch was done cost 0.06-0.08 statements per request in bench/replicas_bench.py). When Postgres fails, the
batch moves to the local spool file (when one is configured; otherwise it stays queued) and is retried with
backoff; once Postgres answers again the spool is replayed first. Rows beyond the queue's ``capacity`` or the
spool's size are dropped and counted (``tokenhub_request_log_dropped_total``), never blocking traffic. ``stop``
flushes what is queued, to Postgres or else to the spool. A row Postgres refuses for its content (after
``gateway.store.storable`` made it storable) is set aside by the sink - its charge still recorded - and goes to
the dead-letter file (``tokenhub_request_log_dead_lettered_total``); the rest of its batch is written.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from gateway.accounting import values
from gateway.observability import metrics as metrics_mod
from gateway.serving import deadletter
from gateway.serving import spool as spool_mod
from gateway.serving import supervisor as supervisor_mod
from gateway.store import errors, leases_repo, log_sink, logs_repo

Entry = tuple[logs_repo.RequestLogRow, values.Charge | None]
"""A log row and the budget charge written with it, in the same transaction (spend == logged cost)."""

log = logging.getLogger(__name__)


class LogWriter:
    def __init__(
        self,
        url: str,
        metrics: metrics_mod.Metrics,
        *,
        capacity: int = 100_000,
        batch_size: int = 500,
        max_delay_s: float = 0.5,
        retry_delay_s: float = 1.0,
        spool: spool_mod.Spool | None = None,
        dead_letters: deadletter.DeadLetters | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._spool = spool
        if dead_letters is None and spool is not None:
            dead_letters = deadletter.DeadLetters(deadletter.beside(spool.path))
        self._dead_letters = dead_letters
        self._clock = clock
        self._sink = log_sink.LogSink(url)
        self._metrics = metrics
        self._capacity = capacity
        self._batch_size = batch_size
        self._max_delay_s = max_delay_s
        self._retry_delay_s = retry_delay_s
        self._queue: collections.deque[Entry] = collections.deque()
        self._wakeup = asyncio.Event()
        self._task: supervisor_mod.Supervised | None = None
        self._own_supervisor: supervisor_mod.Supervisor | None = None
        self._stopping = False
        self._next_batch = 0.0  # loop time before which no batch starts unless a full one is waiting

    @property
    def pending(self) -> int:
        return len(self._queue)

    def files(self) -> tuple[int, int]:
        """Bytes in the spool and in the dead-letter file (a ``stat`` each; for metrics at scrape time)."""
        spooled = self._spool.size() if self._spool is not None else 0
        return spooled, self._dead_letters.size() if self._dead_letters is not None else 0

    def record(self, row: logs_repo.RequestLogRow, charge: values.Charge | None = None) -> None:
        if len(self._queue) >= self._capacity:
            self._metrics.request_log_dropped.inc()
            return
        self._queue.append((row, charge))
        if len(self._queue) >= self._batch_size:
            self._wakeup.set()

    def start(self, supervisor: supervisor_mod.Supervisor | None = None) -> None:
        """Run the writer under ``supervisor`` (the replica's); a writer used on its own gets one of its own."""
        if supervisor is None:
            supervisor = self._own_supervisor = supervisor_mod.Supervisor()
        self._task = supervisor.start("log-writer", self._run)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued (bounded by ``timeout_s``), then stop; a writer that died runs again to flush."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            self._task.hurry()  # skip what is left of a restart pause
            try:
                await asyncio.wait_for(self._task.finished(), timeout_s)
            except TimeoutError:
                log.error("request log flush timed out with %d rows unwritten", len(self._queue))
            await self._task.stop()
        if self._own_supervisor is not None:
            await self._own_supervisor.stop()
        await self._sink.close()

    async def _replay_spool(self) -> None:
        """Write spooled rows back (they may already be stored: the store skips duplicates).

        A spooled row Postgres refuses is dead-lettered like any other, so the spool is always cleared once
        Postgres answers: no row is replayed forever.
        """
        if self._spool is None or not self._spool.size():
            return
        rows = self._spool.read()
        for start in range(0, len(rows), self._batch_size):
            await self._write(rows[start : start + self._batch_size])
        self._spool.clear()
        log.info("replayed %d spooled request-log rows", len(rows))

    def _spill(self, rows: list[Entry]) -> None:
        if self._spool is None:
            return
        try:
            dropped = self._spool.append(rows)
        except OSError as exc:
            log.error("cannot spool request-log rows to %s: %s", self._spool.path, exc)
            dropped = len(rows)
        if dropped:
            self._metrics.request_log_dropped.inc(dropped)
        for _ in rows:
            self._queue.popleft()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._spool is not None and self._spool.size() and not self._stopping:
                    try:
                        await self._replay_spool()
                    except errors.StoreUnavailable:
                        await asyncio.sleep(self._retry_delay_s)
                        continue
                if self._stopping:
                    return
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._max_delay_s)
                continue
            loop = asyncio.get_running_loop()
            wait_s = self._next_batch - loop.time()
            if wait_s > 0 and len(self._queue) < self._batch_size and not self._stopping:
                self._wakeup.clear()  # set by a full batch or by stop()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), wait_s)
                continue
            self._next_batch = loop.time() + self._max_delay_s
            batch = [self._queue[i] for i in range(min(self._batch_size, len(self._queue)))]
            try:
                await self._replay_spool()
                await self._write(batch)
            except errors.StoreUnavailable as exc:
                self._metrics.request_log_write_errors.inc()
                log.warning("request log write failed (%s); %d rows queued, retrying", exc, len(self._queue))
                if self._spool is not None:
                    self._spill(list(self._queue) if self._stopping else batch)
                if self._stopping:
                    return
                await asyncio.sleep(self._retry_delay_s)
                continue
            for _ in batch:
                self._queue.popleft()

    async def _write(self, batch: Sequence[Entry]) -> None:
        """Write a batch with its charges; rows Postgres refuses go to the dead-letter file, the rest are counted."""
        refused: list[log_sink.Refused] = []
        try:
            await self._sink.write([_stored(entry) for entry in batch], refused.append)
        finally:  # set aside before a connection failure stays set aside
            if refused:
                self._dead_letter(batch, refused)
        self._metrics.request_log_written.inc(len(batch) - len(refused))

    def _dead_letter(self, batch: Sequence[Entry], refused: Sequence[log_sink.Refused]) -> None:
        self._metrics.request_log_dead_lettered.inc(len(refused))
        now = self._clock()
        letters = [
            deadletter.Letter(batch[r.index], str(r.error), r.error.sqlstate, r.stand_in, r.charge_lost, now)
            for r in refused
        ]
        lost = sum(1 for r in refused if r.charge_lost)
        log.error(
            "Postgres refused %d request-log rows (%s); %s, %d charges could not be recorded",
            len(refused),
            str(refused[0].error).splitlines()[0],
            f"dead-lettered to {self._dead_letters.path}" if self._dead_letters else "no dead-letter file",
            lost,
        )
        if self._dead_letters is None:
            return
        try:
            dropped = self._dead_letters.append(letters)
        except OSError as exc:
            log.error("cannot write dead-lettered request-log rows to %s: %s", self._dead_letters.path, exc)
            dropped = len(letters)
        if dropped:
            self._metrics.request_log_dropped.inc(dropped)


def _stored(entry: Entry) -> log_sink.Entry:
    """The store's form of an entry: the charge keyed to the row's request id."""
    row, charge = entry
    if charge is None:
        return row, None
    key = leases_repo.BudgetKey(charge.key.namespace, charge.key.name, charge.period)
    return row, leases_repo.ChargeRow(charge.reservation_id, key, charge.holder, charge.cost_usd, row.request_id)
