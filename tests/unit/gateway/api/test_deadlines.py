"""Coarse shared deadlines: each is called once, never early and at most a tick late, unless discarded."""

from __future__ import annotations

import asyncio
import functools

import pytest

from gateway.api import deadlines

TIMEOUT_S = 0.08
TICK_S = TIMEOUT_S / deadlines.TICKS


async def test_a_deadline_is_called_after_its_timeout_and_at_most_a_tick_late() -> None:
    loop = asyncio.get_running_loop()
    clock = deadlines.Deadlines(TIMEOUT_S)
    called: list[float] = []
    done = asyncio.Event()

    def expired() -> None:
        called.append(loop.time())
        done.set()

    started = loop.time()
    clock.add(expired)
    await done.wait()
    assert len(called) == 1
    assert TIMEOUT_S <= called[0] - started <= TIMEOUT_S + TICK_S + 0.05  # 50 ms for a busy test machine
    assert clock.pending == 0


async def test_many_deadlines_share_their_tick_and_a_discarded_one_is_never_called() -> None:
    clock = deadlines.Deadlines(TIMEOUT_S)
    called: list[int] = []
    kept = [clock.add(functools.partial(called.append, n)) for n in range(100)]
    clock.discard(kept[7])
    clock.discard(None)
    done = asyncio.Event()
    clock.add(done.set)
    await done.wait()
    assert sorted(called) == [n for n in range(100) if n != 7]
    assert clock.pending == 0


async def test_a_failing_callback_does_not_keep_the_others_from_their_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = deadlines.Deadlines(TIMEOUT_S)
    done = asyncio.Event()

    def broken() -> None:
        raise RuntimeError("a bug in one callback")

    clock.add(broken)
    clock.add(done.set)
    await done.wait()
    assert "a deadline callback failed" in caplog.text
