"""Follow ``config_revision``: LISTEN for notifications and poll as a safety net.

NOTIFY is delivered only to connected listeners and never replayed, so a listener that reconnects, or misses a
notification, would otherwise miss an update forever. This loop therefore also reads the revision every
``poll_interval`` seconds and right after each (re)connect: a lost notification delays an update by at most one
interval and never loses it. Every revision read that the follower already serves (or takes) confirms it is
current, which is how a replica knows how stale its config may be. LISTEN needs a dedicated session:
``notifies()`` must not share one with queries. A lost connection is retried here; anything else (a rejected
statement, an exception from the callback) ends ``run`` and is the supervisor's to log, count and restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg

from gateway.store import config_repo, errors, pool

log = logging.getLogger(__name__)

OnRevision = Callable[[int], Awaitable[bool]]
"""Called with a newer revision; returns False when it could not take it (it is offered again later)."""
OnCurrent = Callable[[int], None]
"""Called with the revision served whenever a read or a notification confirmed that none is newer."""


class RevisionListener:
    def __init__(
        self,
        db: pool.Database,
        on_revision: OnRevision,
        *,
        known_revision: int,
        on_current: OnCurrent | None = None,
        poll_interval: float = 5.0,
        retry_delay: float = 1.0,
    ) -> None:
        self._db = db
        self._on_revision = on_revision
        self._on_current = on_current
        self._known = known_revision
        self._poll_interval = poll_interval
        self._retry_delay = retry_delay
        self.connected = asyncio.Event()

    @property
    def known_revision(self) -> int:
        return self._known

    async def _seen(self, revision: int) -> None:
        if revision > self._known:
            if not await self._on_revision(revision):
                return
            self._known = revision
        if self._on_current is not None:
            self._on_current(self._known)

    async def _follow(self, conn: pool.Conn) -> None:
        await conn.execute(f"LISTEN {config_repo.CHANNEL}")
        self.connected.set()
        await self._seen(await config_repo.current_revision(conn))
        while True:
            async for notify in conn.notifies(timeout=self._poll_interval):
                try:
                    revision = int(notify.payload)
                except ValueError:
                    log.warning("ignoring malformed config notification %r", notify.payload)
                    continue
                await self._seen(revision)
            await self._seen(await config_repo.current_revision(conn))

    async def run(self) -> None:
        """Run until cancelled; a lost or refused connection is logged and retried."""
        try:
            while True:
                try:
                    conn = await self._db.dedicated("config listener")
                    async with conn:
                        try:
                            await self._follow(conn)
                        except psycopg.Error as exc:
                            raise errors.translate(exc, "config listener", broken=conn.broken) from exc
                except errors.StoreUnavailable as exc:
                    self.connected.clear()
                    log.warning("config listener lost Postgres (%s); retrying in %.1fs", exc, self._retry_delay)
                    await asyncio.sleep(self._retry_delay)
        finally:
            self.connected.clear()
