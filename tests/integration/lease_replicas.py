"""Lease managers standing for gateway replicas in one process, on a clock the test moves by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from gateway.accounting import backend, leases
from gateway.serving import supervisor
from gateway.store import pool

START = dt.datetime(2031, 5, 14, 12, 0, 5, tzinfo=dt.UTC)


@dataclasses.dataclass
class Clock:
    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class OwnDatabase(backend.PgLeaseBackend):
    """A replica's backend over a database handle of its own, closed with its manager, as a process's would be."""

    def __init__(self, url: str) -> None:
        self.db = pool.Database(url, max_size=2)
        super().__init__(self.db)

    async def close(self) -> None:
        await self.db.close()


def replica(url: str, holder: str, clock: Clock, settings: leases.LeaseSettings | None = None) -> leases.LeaseManager:
    """One replica's lease manager: its own holder id and its own connections to the store at ``url``."""
    return leases.LeaseManager(OwnDatabase(url), holder=holder, settings=settings, clock=clock)


def start_background(replicas: Iterable[leases.LeaseManager]) -> supervisor.Supervisor:
    """Run each manager's refills and upkeep under a supervisor, as a gateway does; stop it before ``close``."""
    loops = supervisor.Supervisor()
    for r in replicas:
        loops.start(f"lease-refill-{r.holder}", r.run_refills)
        loops.start(f"lease-upkeep-{r.holder}", r.run_upkeep)
    return loops
