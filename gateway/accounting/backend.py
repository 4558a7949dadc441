"""The seam between the lease manager and Postgres: a Protocol, and the real thing over one connection.

The Postgres backend serialises its calls on one connection (grants are rare: a few per key and minute), counts
every statement it sends (BEGIN and COMMIT included) so statements per request can be measured, and turns any
database failure into ``StoreUnavailable`` after dropping the connection, so the next call reconnects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

import psycopg

from gateway.store import errors, leases_repo
from gateway.store.leases_repo import BudgetGrant, BudgetKey, WindowAsk, WindowGrant


class LeaseBackend(Protocol):
    @property
    def statements(self) -> int: ...

    async def acquire_budget(
        self,
        key: BudgetKey,
        *,
        holder: str,
        limit: Decimal,
        expires_at: dt.datetime,
        size: Callable[[Decimal], Decimal],
    ) -> BudgetGrant: ...

    async def acquire_window(
        self, namespace: str, name: str, window: int, *, rpm: int | None, tpm: int | None, ask: WindowAsk
    ) -> WindowGrant: ...

    async def release_budget(self, key: BudgetKey, *, holder: str, amount: Decimal | None) -> None: ...

    async def held_by(self, holder: str) -> list[BudgetKey]: ...

    async def renew(self, *, holder: str, now: dt.datetime, expires_at: dt.datetime) -> set[BudgetKey]: ...

    async def sweep(self, *, cutoff: dt.datetime, oldest_window: int) -> int: ...

    async def close(self) -> None: ...


class _CountingCursor(psycopg.AsyncCursor[Any]):
    async def execute(self, *args: Any, **kwargs: Any) -> _CountingCursor:
        conn = self.connection
        if isinstance(conn, _CountingConnection):
            conn.statements += 1
        await super().execute(*args, **kwargs)
        return self


class _CountingConnection(psycopg.AsyncConnection[Any]):
    statements = 0

    def transaction(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 2  # BEGIN (or SAVEPOINT) and COMMIT (or RELEASE)
        return super().transaction(*args, **kwargs)


class PgLeaseBackend:
    def __init__(self, url: str, *, connect_timeout_s: float = 3.0) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._conn: _CountingConnection | None = None
        self._lock = asyncio.Lock()
        self._closed_statements = 0

    @property
    def statements(self) -> int:
        return self._closed_statements + (self._conn.statements if self._conn is not None else 0)

    async def _connection(self) -> _CountingConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await _CountingConnection.connect(
                self._url,
                autocommit=True,
                cursor_factory=_CountingCursor,
                connect_timeout=max(1, round(self._connect_timeout_s)),
            )
        return self._conn

    async def _drop(self) -> None:
        if self._conn is not None:
            self._closed_statements += self._conn.statements
            await self._conn.close()
            self._conn = None

    async def _call(self, fn: Callable[[_CountingConnection], Any]) -> Any:
        async with self._lock:
            try:
                return await fn(await self._connection())
            except psycopg.Error as exc:
                await self._drop()
                raise errors.StoreUnavailable(f"lease store: {exc}") from exc

    async def acquire_budget(
        self,
        key: BudgetKey,
        *,
        holder: str,
        limit: Decimal,
        expires_at: dt.datetime,
        size: Callable[[Decimal], Decimal],
    ) -> BudgetGrant:
        grant: BudgetGrant = await self._call(
            lambda c: leases_repo.acquire_budget(c, key, holder=holder, limit=limit, expires_at=expires_at, size=size)
        )
        return grant

    async def acquire_window(
        self, namespace: str, name: str, window: int, *, rpm: int | None, tpm: int | None, ask: WindowAsk
    ) -> WindowGrant:
        grant: WindowGrant = await self._call(
            lambda c: leases_repo.acquire_window(c, namespace, name, window, rpm=rpm, tpm=tpm, ask=ask)
        )
        return grant

    async def release_budget(self, key: BudgetKey, *, holder: str, amount: Decimal | None) -> None:
        await self._call(lambda c: leases_repo.release_budget(c, key, holder=holder, amount=amount))

    async def held_by(self, holder: str) -> list[BudgetKey]:
        held: list[BudgetKey] = await self._call(lambda c: leases_repo.held_by(c, holder))
        return held

    async def renew(self, *, holder: str, now: dt.datetime, expires_at: dt.datetime) -> set[BudgetKey]:
        renewed: set[BudgetKey] = await self._call(
            lambda c: leases_repo.renew(c, holder=holder, now=now, expires_at=expires_at)
        )
        return renewed

    async def sweep(self, *, cutoff: dt.datetime, oldest_window: int) -> int:
        reclaimed: int = await self._call(lambda c: leases_repo.sweep(c, cutoff=cutoff, oldest_window=oldest_window))
        return reclaimed

    async def close(self) -> None:
        async with self._lock:
            try:
                await self._drop()
            except psycopg.Error:
                self._conn = None
