"""The seam between the lease manager and Postgres: a Protocol, and the real thing over the store's pool.

Grants are rare (a few per key and minute), so the Postgres backend borrows a pooled connection per call rather
than holding one; it counts every statement it sends (BEGIN and COMMIT included) so statements per request can be
measured. Failures arrive as store errors: ``StoreUnavailable`` when Postgres cannot be reached, and
``StatementRejected`` when it refused the statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Protocol, TypeVar

from gateway.store import leases_repo, pool
from gateway.store.leases_repo import BudgetGrant, BudgetKey, WindowAsk, WindowGrant

T = TypeVar("T")


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


class PgLeaseBackend:
    def __init__(self, db: pool.Database, *, timeout_s: float = 3.0) -> None:
        self._db = db
        self._timeout_s = timeout_s
        self._tally = pool.Tally()

    @property
    def statements(self) -> int:
        return self._tally.statements

    async def _call(self, fn: Callable[[pool.Conn], Awaitable[T]]) -> T:
        async with self._db.connection("lease store", timeout_s=self._timeout_s, tally=self._tally) as conn:
            return await fn(conn)

    async def acquire_budget(
        self,
        key: BudgetKey,
        *,
        holder: str,
        limit: Decimal,
        expires_at: dt.datetime,
        size: Callable[[Decimal], Decimal],
    ) -> BudgetGrant:
        return await self._call(
            lambda c: leases_repo.acquire_budget(c, key, holder=holder, limit=limit, expires_at=expires_at, size=size)
        )

    async def acquire_window(
        self, namespace: str, name: str, window: int, *, rpm: int | None, tpm: int | None, ask: WindowAsk
    ) -> WindowGrant:
        return await self._call(
            lambda c: leases_repo.acquire_window(c, namespace, name, window, rpm=rpm, tpm=tpm, ask=ask)
        )

    async def release_budget(self, key: BudgetKey, *, holder: str, amount: Decimal | None) -> None:
        await self._call(lambda c: leases_repo.release_budget(c, key, holder=holder, amount=amount))

    async def held_by(self, holder: str) -> list[BudgetKey]:
        return await self._call(lambda c: leases_repo.held_by(c, holder))

    async def renew(self, *, holder: str, now: dt.datetime, expires_at: dt.datetime) -> set[BudgetKey]:
        return await self._call(lambda c: leases_repo.renew(c, holder=holder, now=now, expires_at=expires_at))

    async def sweep(self, *, cutoff: dt.datetime, oldest_window: int) -> int:
        return await self._call(lambda c: leases_repo.sweep(c, cutoff=cutoff, oldest_window=oldest_window))

    async def close(self) -> None:
        """Nothing to let go: the connections belong to the pool, which its owner closes."""
        return None
