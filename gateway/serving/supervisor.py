"""Every long-running loop of a replica runs under one supervisor: a failure is logged, counted and restarted.

A background loop that dies silently stops a duty for good while the replica still looks healthy (a config
listener killed by one bad object kept serving an old revision, with ``/readyz`` green). Here each loop runs in a
task that logs an unexpected exception with its traceback, counts it (``tokenhub_background_task_failures_total``)
and runs the loop again after a pause that doubles per failure in a row, up to a cap, and starts over after a
healthy run. Pauses go through an injected ``sleep`` and runs are timed with an injected clock, so tests move time
by hand. A loop that returns is done; only cancellation (``stop``) ends a loop that does not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Run = Callable[[], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Wrap = Callable[[str, Run], Run]
"""Decorates a loop before it is supervised (named by its task): how tests inject a fault into a real loop."""


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 0.5  # pause after a first failure
    factor: float = 2.0
    max_s: float = 30.0
    healthy_after_s: float = 60.0  # a run that lasted this long counts as healthy: the next pause is initial_s


def pause(policy: Backoff, streak: int) -> float:
    """Seconds to wait before restarting after the ``streak``-th failure in a row (1 = the first)."""
    growth = policy.factor ** min(max(0, streak - 1), 64)  # the cap is reached long before; no float overflow
    return min(policy.max_s, policy.initial_s * growth)


def next_streak(policy: Backoff, streak: int, ran_s: float) -> int:
    """Failures in a row, counting the one that just ended a run of ``ran_s`` seconds."""
    return 1 if ran_s >= policy.healthy_after_s else streak + 1


@dataclasses.dataclass(frozen=True, slots=True)
class Supervision:
    """How a runtime supervises its loops."""

    backoff: Backoff = Backoff()
    wrap: Wrap | None = None


class Supervised:
    """One loop under supervision: its task, what went wrong so far, and how to stop or hurry it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self.last_error: BaseException | None = None
        self.running = False
        self._hurry = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def hurry(self) -> None:
        """Cut a pause short, and keep later pauses at the initial one: at shutdown a loop that died must run
        again at once (the log writer flushes its queue when it returns)."""
        self._hurry.set()

    async def finished(self) -> None:
        """Wait until the loop has returned or was stopped, without stopping it (cancelling this wait is safe)."""
        if self.task is not None:
            await asyncio.wait([self.task])

    async def stop(self) -> None:
        """Cancel the loop (or its pause) and wait until its task has ended."""
        if self.task is None or self.task.done():
            return
        self.task.cancel()
        await asyncio.wait([self.task])


class Supervisor:
    def __init__(
        self,
        supervision: Supervision | None = None,
        *,
        on_failure: Callable[[str], None] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        supervision = supervision or Supervision()
        self.backoff = supervision.backoff
        self._wrap = supervision.wrap
        self._on_failure = on_failure
        self._clock = clock
        self._sleep = sleep
        self._loops: dict[str, Supervised] = {}

    @property
    def loops(self) -> dict[str, Supervised]:
        return dict(self._loops)

    def start(self, name: str, run: Run) -> Supervised:
        """Run ``run`` under supervision as the task ``name`` (unique among the loops still running)."""
        found = self._loops.get(name)
        if found is not None and not found.done:
            raise ValueError(f"a background task named {name!r} is already supervised")
        handle = Supervised(name)
        if self._wrap is not None:
            run = self._wrap(name, run)
        handle.task = asyncio.create_task(self._supervise(handle, run), name=name)
        self._loops[name] = handle
        return handle

    async def stop(self) -> None:
        """Stop every loop still running, the last started first."""
        for handle in reversed(list(self._loops.values())):
            await handle.stop()

    async def _supervise(self, handle: Supervised, run: Run) -> None:
        streak = 0
        while True:
            started = self._clock()
            handle.running = True
            try:
                await run()
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise
                error: BaseException = exc  # the loop awaited something cancelled, but was not stopped itself
            except Exception as exc:
                error = exc
            else:
                log.info("background task %s finished", handle.name)
                return
            finally:
                handle.running = False
            streak = next_streak(self.backoff, streak, self._clock() - started)
            wait_s = pause(self.backoff, streak)
            if handle._hurry.is_set():
                wait_s = min(wait_s, self.backoff.initial_s)
            handle.failures += 1
            handle.last_error = error
            log.error(
                "background task %s failed (%d in a row); restarting in %.1fs",
                handle.name,
                streak,
                wait_s,
                exc_info=error,
            )
            if self._on_failure is not None:
                self._on_failure(handle.name)
            await self._pause(handle, wait_s)

    async def _pause(self, handle: Supervised, seconds: float) -> None:
        """``sleep(seconds)``, over early when the loop is hurried."""
        if handle._hurry.is_set():
            await self._sleep(seconds)
            return
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        hurried = asyncio.ensure_future(handle._hurry.wait())
        try:
            await asyncio.wait((sleeping, hurried), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (sleeping, hurried):
                waiter.cancel()
            await asyncio.wait((sleeping, hurried))
