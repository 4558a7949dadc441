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
import functools
from collections.abc import Callable, Sequence
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
        """The row's storable values in ``COLUMNS`` order, ``attempts`` as JSON text."""
        return tuple([rule(getattr(self, name)) for name, rule in _RULES])


Rule = Callable[[Any], Any]


def _text(cap: int) -> Rule:
    return functools.partial(storable.text, cap=cap)


def _optional_text(cap: int) -> Rule:
    text = storable.text
    return lambda value: None if value is None else text(value, cap)


def _count(value: int) -> int:
    return storable.integer(value, storable.COUNT4)


def _latency(value: float) -> float:
    return storable.real(value, 0.0) or 0.0


def _optional_ms(value: float | None) -> float | None:
    return None if value is None else storable.real(value, None)


def _same(value: Any) -> Any:
    return value


MAX_ATTEMPTS = 32  # a failover plan is a few candidates long; more is a bug worth seeing, not storing
# One attempt is a handful of short fields; this bounds the column at about 32 * 32 * 256 characters.
_ATTEMPT = storable.JsonLimits(text_cap=256, max_items=16, max_depth=4, max_nodes=32)


def _attempts(attempts: Sequence[Any]) -> list[Any]:
    room = len(attempts) if len(attempts) <= MAX_ATTEMPTS else MAX_ATTEMPTS - 1  # the marker takes the last place
    kept = [
        storable.json_value(a, _ATTEMPT) if isinstance(a, dict) else {"value": storable.json_value(a, _ATTEMPT)}
        for a in attempts[:room]
    ]
    if room < len(attempts):
        kept.append({"truncated": f"{len(attempts) - room} more attempts"})
    return kept


# Each column's rule (gateway/store/migrations/0001_init.sql). Text caps are characters: ids and names have
# their own bounds (a Kubernetes name is at most 253), free text a few thousand characters.
_RULES: tuple[tuple[str, Rule], ...] = (
    ("log_id", _text(128)),
    ("request_id", _text(256)),  # the client's X-Request-Id
    ("created_at", _same),  # the replica's clock
    ("endpoint", _text(64)),
    ("key_id", _optional_text(128)),
    ("key_namespace", _optional_text(253)),
    ("key_name", _optional_text(253)),
    ("model", _optional_text(253)),
    ("provider", _optional_text(253)),
    ("upstream_model", _optional_text(512)),
    ("mode", _optional_text(64)),
    ("stream", bool),
    ("status", lambda value: storable.integer(value, storable.INT4)),
    ("error_class", _optional_text(128)),
    ("error_message", _optional_text(4000)),
    ("input_tokens", _count),
    ("output_tokens", _count),
    ("usage_estimated", bool),
    ("cost_usd", storable.money),  # numeric(24, 12); the charge's cost goes through the same rule
    ("latency_ms", _latency),
    ("ttft_ms", _optional_ms),
    ("overhead_ms", _optional_ms),
    ("decision", _optional_text(4000)),
    ("attempts", lambda value: orjson.dumps(_attempts(value)).decode()),  # jsonb
)
assert tuple(name for name, _ in _RULES) == COLUMNS


def as_stored(row: RequestLogRow) -> RequestLogRow:
    """``row`` with every value as it will be stored (what the spool and the dead-letter file keep)."""
    stored = {name: rule(getattr(row, name)) for name, rule in _RULES[:-1]}
    return RequestLogRow(**stored, attempts=tuple(_attempts(row.attempts)))


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
