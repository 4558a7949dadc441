"""The request log: one row per request, written in batches with COPY.

Batches go through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING`` on ``log_id`` (unique per row,
made by the gateway), so replaying a batch (after a failed commit, or from the spool when Postgres returns) never
doubles a row - while two requests that share a client's ``X-Request-Id`` still get a row each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from gateway.store import ids

COLUMNS = (
    "log_id",
    "request_id",
    "created_at",
    "endpoint",
    "key_id",
    "key_namespace",
    "key_name",
    "model",
    "provider",
    "upstream_model",
    "mode",
    "stream",
    "status",
    "error_class",
    "error_message",
    "input_tokens",
    "output_tokens",
    "usage_estimated",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
    "overhead_ms",
    "decision",
    "attempts",
)


@dataclasses.dataclass(frozen=True, slots=True)
class RequestLogRow:
    request_id: str
    created_at: dt.datetime
    endpoint: str
    status: int
    latency_ms: float
    key_id: str | None = None
    key_namespace: str | None = None
    key_name: str | None = None
    model: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    mode: str | None = None
    stream: bool = False
    error_class: str | None = None
    error_message: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    usage_estimated: bool = False
    cost_usd: Decimal = Decimal(0)
    ttft_ms: float | None = None
    overhead_ms: float | None = None
    decision: str | None = None
    attempts: tuple[dict[str, Any], ...] = ()
    log_id: str = dataclasses.field(default_factory=ids.generator())

    def values(self) -> tuple[Any, ...]:
        return tuple(
            orjson.dumps(list(self.attempts)).decode() if name == "attempts" else storable(getattr(self, name))
            for name in COLUMNS
        )


def storable(value: Any) -> Any:
    """Text Postgres can hold: a NUL byte and lone surrogates (both can come from a client) written as escapes."""
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "\\u0000")
    try:
        value.encode()
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode()
    return value


async def insert_batch(conn: psycopg.AsyncConnection[Any], rows: Sequence[RequestLogRow]) -> None:
    """Write a batch in one transaction (the caller's, if one is open); rows whose log_id is stored are skipped.

    Inside the caller's transaction no savepoint is taken: the batch commits or fails with the charges beside it,
    and a savepoint would cost two more statements per batch.
    """
    columns = ", ".join(COLUMNS)
    in_transaction = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    async with contextlib.nullcontext() if in_transaction else conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS request_logs_batch (LIKE request_logs INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS"
        )
        async with conn.cursor().copy(f"COPY request_logs_batch ({columns}) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row.values())
        await conn.execute(
            f"INSERT INTO request_logs ({columns}) SELECT {columns} FROM request_logs_batch"
            " ON CONFLICT (log_id) DO NOTHING"
        )
