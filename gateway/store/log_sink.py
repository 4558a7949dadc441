"""Writes request-log batches with their charges, and sets aside the rows Postgres refuses so the rest go in.

A batch is one transaction - rows, then their charges, 8 statements - as long as nothing is refused. Only a batch
refused for its data is bisected, each half in its own transaction, down to the rows to blame (about 2·log2(n)
transactions per refused row). A refused row's charge is still recorded if at all possible: with a stand-in row
(``logs_repo.stand_in``), else on its own. Connectivity failures are raised at once; a retried batch skips the
rows and charges already stored, so nothing is written twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from gateway.store import errors, leases_repo, logs_repo

Entry = tuple[logs_repo.RequestLogRow, leases_repo.ChargeRow | None]
"""A log row and the charge written in the same transaction (spend == logged cost)."""

log = logging.getLogger(__name__)
# Raised while psycopg turns a value into bytes, before Postgres sees it (a lone surrogate, an int beyond int8);
# ``storable`` leaves none of them, but a row that still raises one is refused, not retried for ever.
_ENCODING_ERRORS = (ValueError, TypeError, OverflowError)


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """A row Postgres would not take; the caller keeps it (the dead-letter file)."""

    index: int  # its position in the batch handed to ``write``
    error: errors.StatementRejected
    stand_in: bool  # a minimal row (same log_id, with the charge) was written in its place
    charge_lost: bool  # it had a charge that could not be recorded at all


class LogSink:
    """One dedicated connection, opened on first use and again after it broke."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def write(self, batch: Sequence[Entry], set_aside: Callable[[Refused], None]) -> None:
        """Write every row Postgres takes, each with its charge; hand each refused one to ``set_aside`` at once.

        Raises ``errors.StoreUnavailable`` when Postgres cannot be reached; rows written or set aside by then
        stay so, and writing the batch again skips what is stored (a refused row may be set aside again).
        """
        if not batch:
            return
        try:
            await self._transaction(batch)
        except errors.StatementRejected as exc:
            await self._isolate(list(enumerate(batch)), exc, set_aside)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def _isolate(
        self, entries: list[tuple[int, Entry]], error: errors.StatementRejected, set_aside: Callable[[Refused], None]
    ) -> None:
        """``entries`` were refused together (with ``error``): write the halves apart, down to single rows."""
        if len(entries) == 1:
            index, entry = entries[0]
            set_aside(await self._keep_what_can_be_kept(index, entry, error))
            return
        half = len(entries) // 2
        for part in (entries[:half], entries[half:]):
            try:
                await self._transaction([entry for _, entry in part])
            except errors.StatementRejected as exc:
                await self._isolate(part, exc, set_aside)

    async def _keep_what_can_be_kept(self, index: int, entry: Entry, error: errors.StatementRejected) -> Refused:
        """Record what can be kept of a refused row: a stand-in with its charge, else the charge alone."""
        row, charge = entry
        reason = f"{error.sqlstate or 'client'}: {str(error).splitlines()[0] if str(error) else ''}"
        with contextlib.suppress(errors.StatementRejected):
            await self._transaction([(logs_repo.stand_in(row, reason), charge)])
            return Refused(index, error, stand_in=True, charge_lost=False)
        if charge is None:
            return Refused(index, error, stand_in=False, charge_lost=False)
        try:
            await self._transaction([], [dataclasses.replace(charge, request_id=None)])
        except errors.StatementRejected as exc:
            log.error("the charge %s of a refused request-log row cannot be recorded: %s", charge, exc)
            return Refused(index, error, stand_in=False, charge_lost=True)
        return Refused(index, error, stand_in=False, charge_lost=False)

    async def _transaction(self, batch: Sequence[Entry], extra_charges: Sequence[leases_repo.ChargeRow] = ()) -> None:
        rows = [row for row, _ in batch]
        charges = [charge for _, charge in batch if charge is not None]
        charges += extra_charges
        conn = await self._connection()
        try:
            async with conn.transaction():
                if rows:
                    await logs_repo.insert_batch(conn, rows)
                if charges:
                    await leases_repo.charge(conn, charges)
        except psycopg.Error as exc:
            failure = errors.translate(exc, "request log", broken=conn.broken)
            if isinstance(failure, errors.StoreUnavailable):
                await self.close()
            raise failure from exc
        except _ENCODING_ERRORS as exc:  # a value psycopg could not turn into bytes: the statement is at fault
            raise errors.StatementRejected(f"request log: {type(exc).__name__}: {exc}") from exc

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._url)
            except psycopg.Error as exc:  # whatever the reason, no row is to blame
                raise errors.StoreUnavailable(f"cannot connect: {exc}") from exc
        return self._conn
