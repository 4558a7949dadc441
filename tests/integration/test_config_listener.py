"""Gateways learn of new revisions by NOTIFY, and by polling when a notification is lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
import pytest

from gateway.store import config_repo, pool
from gateway.store.listener import RevisionListener


async def bump(url: str, revision: int, *, notify: bool) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        if notify:
            await config_repo.bump_revision(conn, revision)
        else:
            await conn.execute("UPDATE config_revision SET revision = %s", (revision,))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[pool.Database]:
    async with pool.Database(database_url, max_size=1) as handle:
        yield handle


async def follow(
    db: pool.Database, poll_interval: float
) -> tuple[RevisionListener, asyncio.Queue[int], asyncio.Task[None]]:
    seen: asyncio.Queue[int] = asyncio.Queue()

    async def on_revision(revision: int) -> bool:
        seen.put_nowait(revision)
        return True

    listener = RevisionListener(db, on_revision, known_revision=0, poll_interval=poll_interval)
    task = asyncio.create_task(listener.run())
    await asyncio.wait_for(listener.connected.wait(), 10)
    return listener, seen, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_notification_arrives_without_waiting_for_the_poll(database_url: str, db: pool.Database) -> None:
    listener, seen, task = await follow(db, poll_interval=30)
    try:
        await bump(database_url, 1, notify=True)
        assert await asyncio.wait_for(seen.get(), 5) == 1
        assert listener.known_revision == 1
    finally:
        await stop(task)


async def test_a_lost_notification_is_caught_by_the_poll(database_url: str, db: pool.Database) -> None:
    _, seen, task = await follow(db, poll_interval=0.2)
    try:
        await bump(database_url, 7, notify=False)
        assert await asyncio.wait_for(seen.get(), 5) == 7
    finally:
        await stop(task)


async def test_a_failed_reload_is_offered_again(database_url: str, db: pool.Database) -> None:
    attempts: list[int] = []

    async def flaky(revision: int) -> bool:
        attempts.append(revision)
        return len(attempts) > 1

    listener = RevisionListener(db, flaky, known_revision=0, poll_interval=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await bump(database_url, 3, notify=True)
        for _ in range(100):
            if listener.known_revision == 3:
                break
            await asyncio.sleep(0.05)
        assert listener.known_revision == 3
        assert attempts[:2] == [3, 3]
    finally:
        await stop(task)
