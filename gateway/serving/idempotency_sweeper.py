"""Deletes Idempotency-Key records once their TTL has passed, so the table holds only what a retry may replay.

A claim already treats an expired record as absent; without this sweep the rows (each holding a whole response
body) would still pile up for every key a client used once. Any replica may sweep - deleting twice is harmless -
in chunks, so one pass never holds a long lock. Runs under the replica's supervisor; the pause is an injected
``sleep`` so tests drive it by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from gateway.store import idempotency_repo, pool

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True)
class SweepSettings:
    interval_s: float = 300.0
    chunk: int = 10_000


class IdempotencySweeper:
    def __init__(self, db: pool.Database, settings: SweepSettings | None = None, *, sleep: Sleep = asyncio.sleep):
        self._db = db
        self.settings = settings or SweepSettings()
        self._sleep = sleep

    async def sweep_once(self) -> int:
        """Delete every expired record, a chunk at a time; the number deleted."""
        total = await pool.sweep_all(self._db, "idempotency expiry", idempotency_repo.sweep, self.settings.chunk)
        if total:
            log.info("deleted %d expired Idempotency-Key records", total)
        return total

    async def run(self) -> None:
        """Sweep every ``interval_s`` until stopped; a store error ends the run and the supervisor restarts it."""
        while True:
            await self.sweep_once()
            await self._sleep(self.settings.interval_s)
