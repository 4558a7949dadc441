"""Budget leases, rate-limit window grants and settled charges in Postgres: the shared side of exact limits.

A grant locks the key's ``budget_periods`` row (budgets) or upserts its ``rate_windows`` row (rates), so
concurrent replicas are serialised per key and the sum granted never exceeds the limit. Lock order is always
period row, then lease rows; ``charge`` touches only the charging replica's own lease rows, so it cannot
deadlock with a grant or a sweep. Every function documents how many statements it sends (BEGIN/COMMIT count).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from gateway.store import errors, storable

ZERO = Decimal(0)
_OUTSTANDING = "greatest(granted_usd - released_usd - charged_usd, 0)"
# Spend accumulates in numeric(24, 12) columns: a sum past their largest value (USD 10^12, far beyond any budget,
# reached only by absurd upstream figures) is kept at that value instead of failing the statement for ever.
_MAX = str(storable.MONEY_MAX)
# Folds the charges of deleted leases (a CTE named ``gone``) into their periods' spend; a period row that does
# not exist yet (a charge admitted fail-open, before any grant) is created with limit 0 until a grant sets it.
_FOLD = (
    " INSERT INTO budget_periods AS p (key_namespace, key_name, period, limit_usd, spent_usd)"
    f" SELECT key_namespace, key_name, period, 0, least(sum(charged_usd), {_MAX}) FROM gone GROUP BY 1, 2, 3"
    " ON CONFLICT (key_namespace, key_name, period)"
    f" DO UPDATE SET spent_usd = least(p.spent_usd + EXCLUDED.spent_usd, {_MAX})"
)


@dataclasses.dataclass(frozen=True, slots=True)
class BudgetKey:
    namespace: str
    name: str
    period: str  # "YYYY-MM", UTC


@dataclasses.dataclass(frozen=True, slots=True)
class BudgetGrant:
    amount: Decimal  # newly granted to the caller (0 when nothing is left)
    limit: Decimal
    spent: Decimal
    outstanding: Decimal  # leased out to all replicas, after this grant

    @property
    def free(self) -> Decimal:
        return self.limit - self.spent - self.outstanding


@dataclasses.dataclass(frozen=True, slots=True)
class WindowGrant:
    requests: int  # newly granted
    tokens: int
    requests_left: int | None  # still grantable in this window; None when unlimited
    tokens_left: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class WindowAsk:
    """How much of a window to ask for: the wish, the least that is useful, and the share of what is left."""

    want_requests: int = 0
    need_requests: int = 0
    want_tokens: int = 0
    need_tokens: int = 0
    divisor: int = 4  # never take more than ceil(left / divisor) beyond the need: leaves room for others


@dataclasses.dataclass(frozen=True, slots=True)
class ChargeRow:
    reservation_id: str
    key: BudgetKey
    holder: str
    cost_usd: Decimal
    request_id: str | None = None

    def values(self) -> tuple[Any, ...]:
        """The ``budget_charges`` columns as stored: text escaped and capped, the cost by the log row's rule.

        Ids made by the replica are far below their caps, so capping never merges two reservations.
        """
        key = self.key
        return (
            storable.text(self.reservation_id, 512),
            storable.text(key.namespace, 253),
            storable.text(key.name, 253),
            storable.text(key.period, 16),
            storable.text(self.holder, 256),
            storable.optional_text(self.request_id, 256),
            storable.money(self.cost_usd),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    limit: Decimal
    spent: Decimal
    outstanding: Decimal


Conn = psycopg.AsyncConnection[Any]


async def acquire_budget(
    conn: Conn,
    key: BudgetKey,
    *,
    holder: str,
    limit: Decimal,
    expires_at: dt.datetime,
    size: Callable[[Decimal], Decimal],
) -> BudgetGrant:
    """Grant ``size(free)`` (clamped to ``[0, free]``) to ``holder`` in one transaction (5 statements).

    The limit is refreshed from the caller's config. A grant also revives the holder's own lease if it had
    expired unswept; what it still had outstanding then stays leased to it until it releases all on close.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO budget_periods AS p (key_namespace, key_name, period, limit_usd) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (key_namespace, key_name, period)"
            " DO UPDATE SET limit_usd = EXCLUDED.limit_usd, updated_at = now() RETURNING p.spent_usd",
            (key.namespace, key.name, key.period, limit),
        )
        row = await cur.fetchone()
        assert row is not None
        folded = Decimal(row[0])
        cur = await conn.execute(
            f"SELECT coalesce(sum(charged_usd), 0), coalesce(sum({_OUTSTANDING}), 0) FROM budget_leases"
            " WHERE key_namespace = %s AND key_name = %s AND period = %s",
            (key.namespace, key.name, key.period),
        )
        sums = await cur.fetchone()
        assert sums is not None
        spent, outstanding = folded + Decimal(sums[0]), Decimal(sums[1])
        free = limit - spent - outstanding
        amount = min(max(size(free), ZERO), free) if free > 0 else ZERO
        await conn.execute(
            "INSERT INTO budget_leases AS l (key_namespace, key_name, period, holder, granted_usd, expires_at)"
            " VALUES (%(ns)s, %(name)s, %(period)s, %(holder)s, %(amount)s, %(expires)s)"
            " ON CONFLICT (key_namespace, key_name, period, holder) DO UPDATE SET"
            " granted_usd = l.granted_usd + EXCLUDED.granted_usd,"
            " expires_at = greatest(l.expires_at, EXCLUDED.expires_at)",
            {
                "ns": key.namespace,
                "name": key.name,
                "period": key.period,
                "holder": holder,
                "amount": amount,
                "expires": expires_at,
            },
        )
    return BudgetGrant(amount=amount, limit=limit, spent=spent, outstanding=outstanding + amount)


async def release_budget(conn: Conn, key: BudgetKey, *, holder: str, amount: Decimal | None) -> None:
    """Return ``amount`` of the holder's lease (None: all it has outstanding); an empty lease is folded away.

    Returning everything is right only once every charge of the holder is written (the log writer flushed).
    One transaction, 5 statements: lock the period row, update the lease, fold it if empty.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT 1 FROM budget_periods WHERE key_namespace = %s AND key_name = %s AND period = %s FOR UPDATE",
            (key.namespace, key.name, key.period),
        )
        await conn.execute(
            "UPDATE budget_leases SET released_usd = CASE WHEN %(amount)s::numeric IS NULL"
            "   THEN greatest(granted_usd - charged_usd, released_usd) ELSE released_usd + %(amount)s END"
            " WHERE key_namespace = %(ns)s AND key_name = %(name)s AND period = %(period)s AND holder = %(holder)s",
            {"amount": amount, "ns": key.namespace, "name": key.name, "period": key.period, "holder": holder},
        )
        await conn.execute(
            "WITH gone AS (DELETE FROM budget_leases WHERE key_namespace = %(ns)s AND key_name = %(name)s"
            f"   AND period = %(period)s AND holder = %(holder)s AND {_OUTSTANDING} = 0"
            "   RETURNING key_namespace, key_name, period, charged_usd)" + _FOLD,
            {"ns": key.namespace, "name": key.name, "period": key.period, "holder": holder},
        )


async def held_by(conn: Conn, holder: str) -> list[BudgetKey]:
    """The periods in which ``holder`` has a lease row (1 statement)."""
    cur = await conn.execute(
        "SELECT key_namespace, key_name, period FROM budget_leases WHERE holder = %s ORDER BY 1, 2, 3", (holder,)
    )
    return [BudgetKey(str(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def renew(conn: Conn, *, holder: str, now: dt.datetime, expires_at: dt.datetime) -> set[BudgetKey]:
    """Extend the holder's unexpired leases (1 statement); returns those extended. An expired one is not revived."""
    cur = await conn.execute(
        "UPDATE budget_leases SET expires_at = %s WHERE holder = %s AND expires_at > %s"
        " RETURNING key_namespace, key_name, period",
        (expires_at, holder, now),
    )
    return {BudgetKey(str(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()}


async def sweep(conn: Conn, *, cutoff: dt.datetime, oldest_window: int) -> int:
    """Reclaim leases that expired before ``cutoff`` and drop rate windows before ``oldest_window``.

    A reclaimed lease's charges are folded into its period's spend and its outstanding part becomes free again.
    One transaction, 5 statements; returns the number of leases reclaimed.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT 1 FROM budget_periods WHERE (key_namespace, key_name, period) IN"
            " (SELECT key_namespace, key_name, period FROM budget_leases WHERE expires_at < %s)"
            " ORDER BY key_namespace, key_name, period FOR UPDATE",
            (cutoff,),
        )
        cur = await conn.execute(
            "WITH gone AS (DELETE FROM budget_leases WHERE expires_at < %s"
            "   RETURNING key_namespace, key_name, period, charged_usd),"
            " folded AS (" + _FOLD + ") SELECT count(*) FROM gone",
            (cutoff,),
        )
        row = await cur.fetchone()
        reclaimed = int(row[0]) if row else 0
        await conn.execute("DELETE FROM rate_windows WHERE window_minute < %s", (oldest_window,))
    return reclaimed


async def charge(conn: Conn, charges: Sequence[ChargeRow]) -> Decimal:
    """Move settled costs from leases into spend; call it inside the transaction that writes the log rows.

    Each charge is journaled under its reservation id, and only charges new to the journal are applied, so a
    replayed batch never charges twice. A charge whose lease is gone (folded or reclaimed) re-creates an expired
    lease row holding just that charge: the cost is never lost. Values are stored as ``ChargeRow.values`` makes
    them (a cost is never negative there, so no charge hands budget back); a lease's charged sum saturates at
    ``storable.MONEY_MAX``. 3 statements; returns the sum newly applied.
    """
    if not charges:
        return ZERO
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS budget_charges_batch (LIKE budget_charges INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
    )
    columns = "reservation_id, key_namespace, key_name, period, holder, request_id, cost_usd"
    async with conn.cursor().copy(f"COPY budget_charges_batch ({columns}) FROM STDIN") as copy:
        for c in charges:
            await copy.write_row(c.values())
    cur = await conn.execute(
        f"WITH new AS (INSERT INTO budget_charges ({columns}) SELECT {columns} FROM budget_charges_batch"
        "   ON CONFLICT (reservation_id) DO NOTHING RETURNING key_namespace, key_name, period, holder, cost_usd),"
        " per_lease AS (SELECT key_namespace, key_name, period, holder, sum(cost_usd) AS cost FROM new"
        "   GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4),"
        " applied AS (INSERT INTO budget_leases AS l"
        "   (key_namespace, key_name, period, holder, charged_usd, expires_at)"
        f"   SELECT key_namespace, key_name, period, holder, least(cost, {_MAX}), '-infinity' FROM per_lease"
        "   ON CONFLICT (key_namespace, key_name, period, holder)"
        f"   DO UPDATE SET charged_usd = least(l.charged_usd + EXCLUDED.charged_usd, {_MAX}))"
        " SELECT coalesce(sum(cost), 0) FROM per_lease"
    )
    row = await cur.fetchone()
    return Decimal(row[0]) if row else ZERO


async def acquire_window(
    conn: Conn, namespace: str, name: str, window: int, *, rpm: int | None, tpm: int | None, ask: WindowAsk
) -> WindowGrant:
    """Grant requests and tokens of one minute window atomically (1 statement, an upsert under the row lock).

    Each grant is ``min(left, max(need, min(want, ceil(left / divisor))))``: the asker gets what it needs if it
    is there, but never a chunk so big that the replicas asking after it find nothing.
    """
    big = 1 << 62  # an unlimited resource is granted from a bottomless window
    params = {
        "ns": namespace,
        "name": name,
        "w": window,
        "rpm": rpm if rpm is not None else big,
        "tpm": tpm if tpm is not None else big,
        "wr": ask.want_requests,
        "nr": ask.need_requests,
        "wt": ask.want_tokens,
        "nt": ask.need_tokens,
        "d": max(ask.divisor, 1),
    }

    def grant(limit: str, granted: str, want: str, need: str) -> str:
        left = f"greatest({limit} - {granted}, 0)"
        share = f"(({left} + %(d)s - 1) / %(d)s)"
        return f"least({left}, greatest({need}, least({want}, {share})))"

    fresh_r, fresh_t = grant("%(rpm)s", "0", "%(wr)s", "%(nr)s"), grant("%(tpm)s", "0", "%(wt)s", "%(nt)s")
    more_r = grant("%(rpm)s", "w.requests_granted", "%(wr)s", "%(nr)s")
    more_t = grant("%(tpm)s", "w.tokens_granted", "%(wt)s", "%(nt)s")
    cur = await conn.execute(
        "INSERT INTO rate_windows AS w (key_namespace, key_name, window_minute,"
        " requests_granted, tokens_granted, last_requests, last_tokens)"
        f" VALUES (%(ns)s, %(name)s, %(w)s, {fresh_r}, {fresh_t}, {fresh_r}, {fresh_t})"
        " ON CONFLICT (key_namespace, key_name, window_minute) DO UPDATE SET"
        f" last_requests = {more_r}, last_tokens = {more_t},"
        f" requests_granted = w.requests_granted + {more_r}, tokens_granted = w.tokens_granted + {more_t}"
        " RETURNING last_requests, last_tokens, requests_granted, tokens_granted",
        params,
    )
    row = await cur.fetchone()
    assert row is not None
    return WindowGrant(
        requests=int(row[0]),
        tokens=int(row[1]),
        requests_left=rpm - int(row[2]) if rpm is not None else None,
        tokens_left=tpm - int(row[3]) if tpm is not None else None,
    )


async def usage(conn: Conn, key: BudgetKey) -> Usage | None:
    """A key's limit, spend and leased-out amount for one period (the figures a status report shows)."""
    cur = await conn.execute(
        f"SELECT p.limit_usd, p.spent_usd + coalesce(sum(l.charged_usd), 0), coalesce(sum({_OUTSTANDING}), 0)"
        " FROM budget_periods p LEFT JOIN budget_leases l USING (key_namespace, key_name, period)"
        " WHERE p.key_namespace = %s AND p.key_name = %s AND p.period = %s GROUP BY p.limit_usd, p.spent_usd",
        (key.namespace, key.name, key.period),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return Usage(limit=Decimal(row[0]), spent=Decimal(row[1]), outstanding=Decimal(row[2]))


async def spend_this_month(url: str, namespace: str, name: str, now: dt.datetime) -> Decimal:
    """What an ApiKey spent this UTC month: the budget ledger when the key has a budget, else its log rows."""
    period = f"{now.year:04d}-{now.month:02d}"
    month_start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    try:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            found = await usage(conn, BudgetKey(namespace, name, period))
            if found is not None:
                return found.spent
            cur = await conn.execute(
                "SELECT coalesce(sum(cost_usd), 0) FROM request_logs"
                " WHERE key_namespace = %s AND key_name = %s AND created_at >= %s",
                (namespace, name, month_start),
            )
            row = await cur.fetchone()
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot read spend: {exc}") from exc
    return Decimal(row[0]) if row else Decimal(0)
