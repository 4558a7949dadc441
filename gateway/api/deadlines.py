"""Deadlines shared by every connection and request of a process, on a coarse clock: one timer per tick.

A loop timer armed and cancelled per request cost more than the rest of reading a small body (about 8 us against
2 us on the loaded test machine), and the head, body and unread-body deadlines would need three. A deadline for a
slow client needs no such precision: each falls on the first tick after it (at most ``timeout_s / TICKS`` late),
and one timer calls everything due on a tick. Adding and discarding a deadline is a set operation.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

log = logging.getLogger(__name__)

TICKS = 8

Deadline = tuple[int, Callable[[], object]]
"""A pending deadline: the tick it falls on and what it calls then; the caller keeps it to ``discard`` it."""


class Deadlines:
    """``timeout_s`` from now, call this - unless discarded first."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._tick_s = timeout_s / TICKS
        self._due: dict[int, set[Callable[[], object]]] = {}

    def add(self, callback: Callable[[], object]) -> Deadline:
        loop = asyncio.get_running_loop()
        tick = math.ceil((loop.time() + self.timeout_s) / self._tick_s)
        due = self._due.get(tick)
        if due is None:
            due = self._due[tick] = set()
            loop.call_at(tick * self._tick_s, self._expire, tick)
        due.add(callback)
        return tick, callback

    def discard(self, deadline: Deadline | None) -> None:
        if deadline is not None:
            due = self._due.get(deadline[0])
            if due is not None:
                due.discard(deadline[1])

    @property
    def pending(self) -> int:
        return sum(len(due) for due in self._due.values())

    def _expire(self, tick: int) -> None:
        for callback in self._due.pop(tick, ()):
            try:
                callback()
            except Exception:  # one failing callback must not keep the others from their deadline
                log.exception("a deadline callback failed")
