"""The request log: one row per request, written in batches with COPY.

Batches go through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING`` on ``log_id`` (unique per row,
made by the gateway), so replaying a batch (after a failed commit, or from the spool when Postgres returns) never
doubles a row - while two requests that share a client's ``X-Request-Id`` still get a row each. Every value
goes through its column's rule in ``storable`` on the way in, so no value a client or upstream chose can make
Postgres refuse the batch; ``stand_in`` is the minimal row written when Postgres refuses a row anyway.
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

from gateway.store import ids, storable

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
        """The row's values in ``COLUMNS`` order as stored (``attempts`` as JSON text), each made storable by its
        column's rule (gateway/store/migrations/0001_init.sql). Text caps are characters: ids and names have their
        own bounds (a Kubernetes name is at most 253), free text a few thousand. Spelled out, not looped over a
        table of rules: this runs for every row, and the loop cost twice as much."""
        text, real, integer = storable.text, storable.real, storable.integer
        count = storable.COUNT4
        return (
            text(self.log_id, 128),
            text(self.request_id, 256),  # the client's X-Request-Id
            self.created_at,  # the replica's clock
            text(self.endpoint, 64),
            None if self.key_id is None else text(self.key_id, 128),
            None if self.key_namespace is None else text(self.key_namespace, 253),
            None if self.key_name is None else text(self.key_name, 253),
            None if self.model is None else text(self.model, 253),
            None if self.provider is None else text(self.provider, 253),
            None if self.upstream_model is None else text(self.upstream_model, 512),
            None if self.mode is None else text(self.mode, 64),
            bool(self.stream),
            integer(self.status, storable.INT4),
            None if self.error_class is None else text(self.error_class, 128),
            None if self.error_message is None else text(self.error_message, 4000),
            integer(self.input_tokens, count),
            integer(self.output_tokens, count),
            bool(self.usage_estimated),
            storable.money(self.cost_usd),  # numeric(24, 12); the charge's cost goes through the same rule
            real(self.latency_ms, 0.0),
            None if self.ttft_ms is None else real(self.ttft_ms, None),
            None if self.overhead_ms is None else real(self.overhead_ms, None),
            None if self.decision is None else text(self.decision, 4000),
            _attempts_json(self.attempts),  # jsonb
        )


MAX_ATTEMPTS = 32  # a failover plan is a few candidates long; more is a bug worth seeing, not storing
MAX_ATTEMPTS_JSON = 16 * 1024  # bytes: a few attempts of a few short fields each take a few hundred
# Limits of one attempt when the list has to be rebuilt: a handful of short fields, nested little.
_ATTEMPT = storable.JsonLimits(text_cap=256, max_items=16, max_depth=4, max_nodes=32)


def _attempts_json(attempts: Sequence[Any]) -> str:
    """The ``attempts`` column as JSON text: as orjson writes it when that is storable and small (the common
    case costs one ``dumps``), else rebuilt by ``storable.json_value`` within ``MAX_ATTEMPTS`` and ``_ATTEMPT``.

    orjson itself refuses what jsonb cannot hold except the escape ``\\u0000`` and size, checked here.
    """
    try:
        dumped = orjson.dumps(attempts)
    except orjson.JSONEncodeError:  # a lone surrogate, an int beyond 64 bits, a Decimal, a non-string key
        pass
    else:
        if len(dumped) <= MAX_ATTEMPTS_JSON and b"\\u0000" not in dumped:
            return dumped.decode()
    room = len(attempts) if len(attempts) <= MAX_ATTEMPTS else MAX_ATTEMPTS - 1  # the marker takes the last place
    kept = [
        storable.json_value(a, _ATTEMPT) if isinstance(a, dict) else {"value": storable.json_value(a, _ATTEMPT)}
        for a in attempts[:room]
    ]
    if room < len(attempts):
        kept.append({"truncated": f"{len(attempts) - room} more attempts"})
    return orjson.dumps(kept).decode()


def as_stored(row: RequestLogRow) -> RequestLogRow:
    """``row`` with every value as it will be stored (what the spool and the dead-letter file keep)."""
    stored = dict(zip(COLUMNS, row.values(), strict=True))
    stored["attempts"] = tuple(orjson.loads(stored["attempts"]))
    return RequestLogRow(**stored)


def stand_in(row: RequestLogRow, reason: str) -> RequestLogRow:
    """The minimal form of a row Postgres refused: who, when, what it cost - without its free text.

    Written in the refused row's place (same ``log_id``, with its charge) so the log still counts the request
    and its cost; the full row goes to the dead-letter file.
    """
    return RequestLogRow(
        request_id=row.request_id,
        created_at=row.created_at,
        endpoint=row.endpoint,
        status=row.status,
        latency_ms=row.latency_ms,
        key_id=row.key_id,
        key_namespace=row.key_namespace,
        key_name=row.key_name,
        model=row.model,
        provider=row.provider,
        stream=row.stream,
        error_class=row.error_class,
        error_message=storable.text(f"the full row was refused and dead-lettered: {reason}", 4000),
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        usage_estimated=row.usage_estimated,
        cost_usd=row.cost_usd,
        log_id=row.log_id,
    )


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
