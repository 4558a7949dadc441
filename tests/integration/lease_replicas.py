"""Lease managers standing for gateway replicas in one process, on a clock the test moves by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway.accounting import backend, leases

START = dt.datetime(2031, 5, 14, 12, 0, 5, tzinfo=dt.UTC)


@dataclasses.dataclass
class Clock:
    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def replica(url: str, holder: str, clock: Clock, settings: leases.LeaseSettings | None = None) -> leases.LeaseManager:
    """One replica's lease manager: its own holder id and its own connection to the store at ``url``."""
    return leases.LeaseManager(backend.PgLeaseBackend(url), holder=holder, settings=settings, clock=clock)
