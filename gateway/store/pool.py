"""The gateway's one way to reach Postgres: a small shared pool, plus dedicated sessions where a session matters.

Short units of work (a config load, a lease grant, the statistics exchange, an idempotency claim) borrow a pooled
connection; LISTEN and session-level advisory locks hold a connection of their own for as long as they last. The
steady-state request path uses none of these: admission spends local leases. Every psycopg error leaving here is
a ``store.errors`` class. The pool connects on demand and gives up a failing reconnection after
``connect_timeout_s``, so the first checkout after Postgres returns connects at once instead of waiting out
psycopg_pool's backoff (which grows to minutes); a session that dies under a statement has the idle connections
checked, so the callers after it do not each meet a connection that died with the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway.store import errors

Conn = psycopg.AsyncConnection[Any]


class _CountingCursor(psycopg.AsyncCursor[Any]):
    async def execute(self, *args: Any, **kwargs: Any) -> _CountingCursor:
        conn = self.connection
        if isinstance(conn, _CountingConnection):
            conn.statements += 1
        await super().execute(*args, **kwargs)
        return self


class _CountingConnection(psycopg.AsyncConnection[Any]):
    """Counts the statements sent through it (BEGIN and COMMIT of ``transaction()`` included)."""

    statements = 0

    def transaction(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 2  # BEGIN (or SAVEPOINT) and COMMIT (or RELEASE)
        return super().transaction(*args, **kwargs)


@dataclasses.dataclass(slots=True)
class Tally:
    """Statements one component sent through the pool (to measure statements per request)."""

    statements: int = 0


class Database:
    """A pool of autocommit connections and a factory of dedicated sessions, for one Postgres database."""

    def __init__(
        self,
        url: str,
        *,
        max_size: int = 8,
        connect_timeout_s: float = 3.0,
        checkout_timeout_s: float = 5.0,
        name: str = "tokenhub",
    ) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._checkout_timeout_s = checkout_timeout_s
        self._pool = AsyncConnectionPool(
            url,
            connection_class=_CountingConnection,
            kwargs={
                "autocommit": True,
                "cursor_factory": _CountingCursor,
                "connect_timeout": max(1, round(connect_timeout_s)),
            },
            min_size=0,
            max_size=max_size,
            open=False,
            reconnect_timeout=connect_timeout_s,
            name=name,
        )
        self._opened = False
        self._closed = False

    @property
    def url(self) -> str:
        """For a component that still opens its own connection (the request-log writer)."""
        return self._url

    def pool_stats(self) -> tuple[int, int, int]:
        """Connections held by the pool, idle among them, and borrowers waiting (read without I/O, for metrics)."""
        stats = self._pool.get_stats()
        return stats.get("pool_size", 0), stats.get("pool_available", 0), stats.get("requests_waiting", 0)

    async def open(self) -> None:
        """Start the pool's workers in the running loop; connections are made on demand. Idempotent."""
        if self._closed:
            raise errors.StoreUnavailable("the database handle is closed")
        if not self._opened:
            self._opened = True
            await self._pool.open()

    async def close(self) -> None:
        self._closed = True
        if self._opened:
            await self._pool.close()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def connection(
        self, what: str = "postgres", *, timeout_s: float | None = None, tally: Tally | None = None
    ) -> AsyncIterator[Conn]:
        """Borrow a pooled autocommit connection; a psycopg error inside becomes a store error about ``what``.

        ``timeout_s`` bounds the wait for a connection (``StoreUnavailable`` after it); ``tally`` adds up the
        statements sent inside the block.
        """
        await self.open()
        broke = False
        try:
            async with self._pool.connection(timeout=timeout_s or self._checkout_timeout_s) as conn:
                start = conn.statements
                try:
                    yield conn
                except psycopg.Error as exc:
                    broke = conn.broken
                    raise errors.translate(exc, what, broken=broke) from exc
                finally:
                    if tally is not None:
                        tally.statements += conn.statements - start
        except psycopg.Error as exc:  # no connection to be had in time, or the pool is closed
            raise errors.translate(exc, what) from exc
        finally:
            if broke:
                await self._drop_dead()

    async def _drop_dead(self) -> None:
        """A session died under a statement: the server may have restarted, so idle connections are checked
        (one empty query each) and the dead ones discarded before another caller meets them."""
        with contextlib.suppress(psycopg.Error):
            await self._pool.check()

    async def dedicated(self, what: str = "postgres") -> Conn:
        """A new autocommit session outside the pool, for LISTEN or a session lock; the caller closes it."""
        try:
            return await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._connect_timeout_s))
            )
        except psycopg.Error as exc:
            raise errors.translate(exc, what) from exc


async def sweep_all(db: Database, what: str, sweep: Callable[[Conn, int], Awaitable[int]], chunk: int) -> int:
    """Run a chunked delete (``sweep(conn, chunk)``) until a chunk comes back short; the number deleted.

    One connection per chunk, so a long sweep never holds one between chunks and each chunk commits alone.
    """
    total = 0
    while True:
        async with db.connection(what) as conn:
            deleted = await sweep(conn, chunk)
        total += deleted
        if deleted < chunk:
            return total
