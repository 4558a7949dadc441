"""Bandit evidence shared by replicas: each writes its own per-arm totals, reads the others' decayed sum.

A replica overwrites only its own rows, so a write whose acknowledgement was lost is simply repeated, never
counted twice. The read decays every other replica's row to the arm's latest time and adds them - the fold of
``thompson.merge`` - so the answer has one row per arm however many replicas wrote. One statement per exchange.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import psycopg

FORGET_AFTER_HALF_LIVES = 30.0  # 2**-30 of the evidence is left: the row is deleted

_EXCHANGE = """
WITH mine AS (
    SELECT * FROM unnest(%(namespace)s::text[], %(model)s::text[], %(bucket)s::text[], %(alpha)s::float8[],
                         %(beta)s::float8[], %(at)s::float8[], %(half_life_s)s::float8[])
        AS m(namespace, model, bucket, alpha, beta, at, half_life_s)
), up AS (
    INSERT INTO bandit_stats AS b (namespace, model, bucket, replica, alpha, beta, at, half_life_s)
    SELECT namespace, model, bucket, %(replica)s, alpha, beta, at, half_life_s FROM mine
    ON CONFLICT (namespace, model, bucket, replica) DO UPDATE
        SET alpha = EXCLUDED.alpha, beta = EXCLUDED.beta, at = EXCLUDED.at, half_life_s = EXCLUDED.half_life_s
        WHERE EXCLUDED.at >= b.at
), gone AS (
    DELETE FROM bandit_stats WHERE (namespace, model, bucket, replica) IN (
        SELECT namespace, model, bucket, replica FROM bandit_stats
        WHERE replica <> %(replica)s AND at < %(now)s - %(forget)s * half_life_s
        FOR UPDATE SKIP LOCKED)
), others AS (
    SELECT namespace, model, bucket, alpha, beta, at, half_life_s,
           max(at) OVER (PARTITION BY namespace, model, bucket) AS latest
    FROM bandit_stats
    WHERE replica <> %(replica)s AND at >= %(now)s - %(forget)s * half_life_s
)
SELECT namespace, model, bucket,
       sum(alpha * power(0.5::float8, (latest - at) / half_life_s)),
       sum(beta * power(0.5::float8, (latest - at) / half_life_s)),
       latest, max(half_life_s)
FROM others
GROUP BY namespace, model, bucket, latest
ORDER BY namespace, model, bucket
LIMIT %(max_rows)s
"""


@dataclasses.dataclass(frozen=True, slots=True)
class ArmRow:
    """Decayed Beta evidence for one arm, expressed at ``at`` (Unix seconds)."""

    namespace: str
    model: str
    bucket: str
    alpha: float
    beta: float
    at: float
    half_life_s: float


def _columns(rows: Sequence[ArmRow]) -> dict[str, list[Any]]:
    fields = ("namespace", "model", "bucket", "alpha", "beta", "at", "half_life_s")
    return {name: [getattr(row, name) for row in rows] for name in fields}


async def exchange(
    conn: psycopg.AsyncConnection[Any],
    replica: str,
    mine: Sequence[ArmRow],
    *,
    now: float,
    max_rows: int = 10_000,
) -> list[ArmRow]:
    """Store this replica's own totals and return the other replicas' evidence summed per arm (one statement)."""
    params: dict[str, Any] = {
        **_columns(mine),
        "replica": replica,
        "now": now,
        "forget": FORGET_AFTER_HALF_LIVES,
        "max_rows": max_rows,
    }
    cur = await conn.execute(_EXCHANGE, params)
    return [ArmRow(*row) for row in await cur.fetchall()]
