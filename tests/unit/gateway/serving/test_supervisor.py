"""The supervisor: a failing loop is logged with its traceback, counted and restarted after a growing pause.

Time is an input: pauses go through a fake ``sleep`` that records them and moves a fake clock, so no test waits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.serving import supervisor

BACKOFF = supervisor.Backoff(initial_s=0.5, factor=2.0, max_s=4.0, healthy_after_s=60.0)


@dataclasses.dataclass
class FakeTime:
    now: float = 0.0
    slept: list[float] = dataclasses.field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Flaky:
    """A loop that raises ``fail`` times (each run taking ``run_s`` of fake time), then waits to be cancelled."""

    def __init__(self, time: FakeTime, fail: int, run_s: float = 0.0) -> None:
        self.time = time
        self.fail = fail
        self.run_s = run_s
        self.runs = 0
        self.healthy = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        self.runs += 1
        self.time.now += self.run_s
        if self.runs <= self.fail:
            raise RuntimeError(f"failure {self.runs}")
        self.healthy.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def make(
    time: FakeTime, failures: list[str] | None = None, wrap: supervisor.Wrap | None = None
) -> supervisor.Supervisor:
    seen = failures if failures is not None else []
    return supervisor.Supervisor(
        supervisor.Supervision(BACKOFF, wrap),
        on_failure=seen.append,
        clock=time.clock,
        sleep=time.sleep,
    )


async def test_a_failing_loop_is_logged_counted_and_restarted_with_growing_pauses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    failures: list[str] = []
    loops = make(time, failures)
    flaky = Flaky(time, fail=3)
    with caplog.at_level(logging.ERROR, logger="gateway.serving.supervisor"):
        handle = loops.start("config-listener", flaky.run)
        try:
            await asyncio.wait_for(flaky.healthy.wait(), 5)
        finally:
            await loops.stop()
    assert flaky.runs == 4
    assert time.slept == [0.5, 1.0, 2.0]
    assert failures == ["config-listener"] * 3
    assert handle.failures == 3 and str(handle.last_error) == "failure 3"
    records = [r for r in caplog.records if "config-listener" in r.getMessage()]
    assert len(records) == 3
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in records)


async def test_the_pause_stops_growing_at_its_cap() -> None:
    time = FakeTime()
    loops = make(time)
    flaky = Flaky(time, fail=7)
    loops.start("stats-sharing", flaky.run)
    try:
        await asyncio.wait_for(flaky.healthy.wait(), 5)
    finally:
        await loops.stop()
    assert time.slept == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


async def test_a_failure_after_a_healthy_run_starts_the_pauses_over() -> None:
    time = FakeTime()
    loops = make(time)
    flaky = Flaky(time, fail=4, run_s=20.0)  # the fourth run lasts past healthy_after_s: it counts as healthy
    runs = flaky.run

    async def run() -> None:
        if flaky.runs == 3:
            flaky.run_s = 60.0
        await runs()

    loops.start("health-prober", run)
    try:
        await asyncio.wait_for(flaky.healthy.wait(), 5)
    finally:
        await loops.stop()
    assert time.slept == [0.5, 1.0, 2.0, 0.5]


async def test_stop_cancels_a_running_loop_and_leaves_no_task() -> None:
    time = FakeTime()
    loops = make(time)
    flaky = Flaky(time, fail=0)
    handle = loops.start("lease-refill", flaky.run)
    await asyncio.wait_for(flaky.healthy.wait(), 5)
    await loops.stop()
    assert flaky.cancelled and handle.done and not handle.running
    assert handle.failures == 0


async def test_stop_ends_a_pause_without_restarting_the_loop() -> None:
    never = asyncio.Event()
    failed = asyncio.Event()

    async def stuck_sleep(seconds: float) -> None:
        await never.wait()

    loops = supervisor.Supervisor(on_failure=lambda _: failed.set(), sleep=stuck_sleep)
    runs: list[int] = []

    async def broken() -> None:
        runs.append(1)
        raise ValueError("broken")

    handle = loops.start("lease-upkeep", broken)
    await asyncio.wait_for(failed.wait(), 5)
    await handle.stop()
    assert handle.done and runs == [1]


async def test_hurry_cuts_a_pause_short() -> None:
    never = asyncio.Event()
    slept: list[float] = []

    async def long_sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 1:
            await never.wait()  # the first pause would last for ever

    failed = asyncio.Event()
    loops = supervisor.Supervisor(supervisor.Supervision(BACKOFF), on_failure=lambda _: failed.set(), sleep=long_sleep)
    finished = asyncio.Event()
    runs: list[int] = []

    async def dies_once() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("died")
        finished.set()

    handle = loops.start("log-writer", dies_once)
    await asyncio.wait_for(failed.wait(), 5)
    handle.hurry()
    await asyncio.wait_for(finished.wait(), 5)
    await asyncio.wait_for(handle.finished(), 5)
    assert runs == [1, 1] and handle.done
    await loops.stop()


async def test_a_loop_that_returns_is_done_and_not_restarted() -> None:
    time = FakeTime()
    loops = make(time)
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    handle = loops.start("log-writer", once)
    await asyncio.wait_for(handle.finished(), 5)
    assert runs == [1] and handle.failures == 0 and time.slept == []
    await loops.stop()


async def test_a_cancelled_error_from_a_loop_that_was_not_stopped_is_a_failure() -> None:
    time = FakeTime()
    failures: list[str] = []
    loops = make(time, failures)
    flaky = Flaky(time, fail=0)

    async def awaits_something_cancelled() -> None:
        if flaky.runs == 0:
            flaky.runs += 1
            doomed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            doomed.cancel()
            await doomed
        await flaky.run()

    loops.start("config-listener", awaits_something_cancelled)
    try:
        await asyncio.wait_for(flaky.healthy.wait(), 5)
    finally:
        await loops.stop()
    assert failures == ["config-listener"]


async def test_two_loops_cannot_share_a_name_while_the_first_runs() -> None:
    time = FakeTime()
    loops = make(time)
    flaky = Flaky(time, fail=0)
    loops.start("stats-sharing", flaky.run)
    try:
        with pytest.raises(ValueError, match="stats-sharing"):
            loops.start("stats-sharing", flaky.run)
    finally:
        await loops.stop()


async def test_wrap_decorates_every_loop_with_its_name() -> None:
    time = FakeTime()
    failures: list[str] = []
    flaky = Flaky(time, fail=0)

    def fail_first_run(name: str, run: supervisor.Run) -> supervisor.Run:
        attempts: list[int] = []

        async def wrapped() -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError(f"injected into {name}")
            await run()

        return wrapped

    loops = make(time, failures, wrap=fail_first_run)
    handle = loops.start("log-writer", flaky.run)
    try:
        await asyncio.wait_for(flaky.healthy.wait(), 5)
    finally:
        await loops.stop()
    assert failures == ["log-writer"] and str(handle.last_error) == "injected into log-writer"


@given(
    initial=st.floats(0.01, 10.0),
    factor=st.floats(1.0, 4.0),
    cap=st.floats(0.01, 600.0),
    streak=st.integers(1, 100_000),
)
def test_pauses_start_at_the_initial_one_never_shrink_and_never_pass_the_cap(
    initial: float, factor: float, cap: float, streak: int
) -> None:
    policy = supervisor.Backoff(initial_s=initial, factor=factor, max_s=cap)
    assert supervisor.pause(policy, 1) == min(initial, cap)
    assert supervisor.pause(policy, streak) <= cap
    assert supervisor.pause(policy, streak + 1) >= supervisor.pause(policy, streak)


@given(streak=st.integers(0, 100), ran=st.floats(0.0, 1e6))
def test_a_healthy_run_resets_the_streak_and_a_short_one_extends_it(streak: int, ran: float) -> None:
    after = supervisor.next_streak(BACKOFF, streak, ran)
    assert after == (1 if ran >= BACKOFF.healthy_after_s else streak + 1)
