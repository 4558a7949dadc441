"""Provider health shared by replicas, and the advisory lock that elects the one active prober.

Each replica overwrites its own row per provider with its own evidence; a reader takes the other replicas'
rows that still matter (recent, or with a cooldown still running). Deadlines are Unix seconds. The prober lock
is session-level on a dedicated connection: when its holder dies, its session ends and the lock is free again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import psycopg

from gateway.store import errors, pool

log = logging.getLogger(__name__)

PROBER_LOCK = 0x746B6870726F6265  # "tkhprobe" as a 64-bit advisory lock key
# A holder on another host that vanishes without closing its socket is noticed by the server after ~25 s.
_KEEPALIVES = (
    "SELECT set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),"
    " set_config('tcp_keepalives_count', '3', false)"
)

_COLUMNS = (
    ("provider", "text"),
    ("retry_after_until", "float8"),
    ("down_until", "float8"),
    ("trips", "int4"),
    ("error_rate", "float8"),
    ("latency_ms", "float8"),
    ("observed_at", "float8"),
    ("probe_ok", "bool"),
    ("probe_latency_ms", "float8"),
    ("probe_at", "float8"),
    ("probe_failures", "int4"),
    ("probe_failing_since", "float8"),
)
_FIELDS = tuple(name for name, _ in _COLUMNS)
_UNNEST = ", ".join(f"%({f})s::{t}[]" for f, t in _COLUMNS)
_SET = ", ".join(f"{f} = EXCLUDED.{f}" for f in (*_FIELDS[1:], "updated_at"))

_EXCHANGE = f"""
WITH mine AS (
    SELECT * FROM unnest({_UNNEST}) AS m({", ".join(_FIELDS)})
), up AS (
    INSERT INTO provider_health (replica, updated_at, {", ".join(_FIELDS)})
    SELECT %(replica)s, %(now)s, * FROM mine
    ON CONFLICT (provider, replica) DO UPDATE SET {_SET}
), gone AS (
    DELETE FROM provider_health WHERE (provider, replica) IN (
        SELECT provider, replica FROM provider_health
        WHERE replica <> %(replica)s AND updated_at < %(now)s - %(forget_s)s
          AND retry_after_until < %(now)s AND down_until < %(now)s
        FOR UPDATE SKIP LOCKED)
)
SELECT replica, {", ".join(_FIELDS)} FROM provider_health
WHERE replica <> %(replica)s
  AND (updated_at >= %(now)s - %(horizon_s)s OR retry_after_until > %(now)s OR down_until > %(now)s)
ORDER BY updated_at DESC
LIMIT %(max_rows)s
"""


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    """One replica's health of one provider as stored; every time is Unix seconds."""

    provider: str
    retry_after_until: float = 0.0
    down_until: float = 0.0
    trips: int = 0
    error_rate: float = 0.0
    latency_ms: float | None = None
    observed_at: float | None = None
    probe_ok: bool | None = None
    probe_latency_ms: float | None = None
    probe_at: float | None = None
    probe_failures: int = 0
    probe_failing_since: float | None = None
    replica: str = ""  # filled in on rows read back


async def exchange(
    conn: psycopg.AsyncConnection[Any],
    replica: str,
    mine: Sequence[Published],
    *,
    now: float,
    horizon_s: float,
    forget_s: float,
    max_rows: int = 10_000,
) -> list[Published]:
    """Store this replica's rows; return the others' that were updated within ``horizon_s`` or still hold a
    cooldown at ``now``. Rows untouched for ``forget_s`` with no cooldown left are deleted. One statement."""
    params: dict[str, Any] = {f: [getattr(row, f) for row in mine] for f in _FIELDS}
    params.update(replica=replica, now=now, horizon_s=horizon_s, forget_s=forget_s, max_rows=max_rows)
    cur = await conn.execute(_EXCHANGE, params)
    return [Published(replica=row[0], **dict(zip(_FIELDS, row[1:], strict=True))) for row in await cur.fetchall()]


class ProbeLock:
    """Leadership of the active prober: ``pg_try_advisory_lock`` held by a session this object keeps open."""

    def __init__(self, db: pool.Database, key: int = PROBER_LOCK) -> None:
        self._db = db
        self._key = key
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._held = False

    async def hold(self) -> bool:
        """True while this replica holds the lock; takes it when it is free. Never raises for Postgres."""
        try:
            if self._conn is None or self._conn.closed:
                self._held = False
                self._conn = await self._db.dedicated("health prober lock")
                await self._conn.execute(_KEEPALIVES)
            if self._held:
                await self._conn.execute("SELECT 1")  # the session, and with it the lock, is still alive
                return True
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
            row = await cur.fetchone()
            self._held = bool(row and row[0])
            if self._held:
                log.info("this replica is now the active health prober")
            return self._held
        except (psycopg.Error, errors.StoreError) as exc:
            if self._held:
                log.warning("lost the health prober lock with its Postgres session: %s", exc)
            await self.close()
            return False

    async def close(self) -> None:
        """End the session: the lock is free for another replica at once."""
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None and not conn.closed:
            try:
                await conn.close()
            except psycopg.Error as exc:
                log.debug("closing the prober lock session failed: %s", exc)
