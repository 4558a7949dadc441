"""A bounded local file for request-log rows (and their budget charges) that Postgres could not take.

One JSON object per line, holding the values as the store would keep them, so any row can be spooled. Replaying
is safe to repeat: rows are keyed by log id and the store skips the ones it already has. The file is bounded
(``max_bytes``); rows beyond it are dropped and counted, never blocking the request path. Rows survive a gateway
restart while Postgres is still down.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import pathlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from gateway.accounting import values
from gateway.store import leases_repo, logs_repo

Entry = tuple[logs_repo.RequestLogRow, values.Charge | None]
T = TypeVar("T")

log = logging.getLogger(__name__)


def to_json(entry: Entry) -> dict[str, Any]:
    """The entry as the store would keep it (``logs_repo.as_stored``), as JSON-ready values."""
    row, charge = entry
    data = dataclasses.asdict(logs_repo.as_stored(row))
    data["created_at"] = row.created_at.isoformat()
    data["cost_usd"] = str(data["cost_usd"])
    data["attempts"] = list(data["attempts"])
    if charge is not None:
        key = leases_repo.BudgetKey(charge.key.namespace, charge.key.name, charge.period)
        stored = leases_repo.ChargeRow(charge.reservation_id, key, charge.holder, charge.cost_usd).values()
        reservation_id, namespace, name, period, holder, _, cost_usd = stored
        data["charge"] = {
            "reservation_id": reservation_id,
            "namespace": namespace,
            "name": name,
            "period": period,
            "holder": holder,
            "cost_usd": str(cost_usd),
        }
    return data


def from_json(data: dict[str, Any]) -> Entry:
    data = dict(data)
    raw_charge = data.pop("charge", None)
    data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    data["cost_usd"] = Decimal(data["cost_usd"])
    data["attempts"] = tuple(data["attempts"])
    charge = None
    if raw_charge is not None:
        charge = values.Charge(
            raw_charge["reservation_id"],
            values.KeyRef(raw_charge["namespace"], raw_charge["name"]),
            raw_charge["period"],
            raw_charge["holder"],
            Decimal(raw_charge["cost_usd"]),
        )
    return logs_repo.RequestLogRow(**data), charge


def encode(entry: Entry) -> bytes:
    return orjson.dumps(to_json(entry)) + b"\n"


def decode(line: bytes) -> Entry:
    return from_json(orjson.loads(line))


def encodable(encoder: Callable[[T], bytes], items: Sequence[T]) -> list[bytes]:
    """The lines of the items that encode; ``storable`` makes that all of them, but a bug must not stop the writer."""
    lines = []
    for item in items:
        try:
            lines.append(encoder(item))
        except (orjson.JSONEncodeError, TypeError, ValueError, OverflowError) as exc:
            log.error("a request-log row cannot be written to a local file: %s", exc)
    return lines


class BoundedFile:
    """An append-only file of lines that never grows past ``max_bytes``: what does not fit is dropped."""

    def __init__(self, path: pathlib.Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append_lines(self, lines: Sequence[bytes]) -> int:
        """Append the lines that fit, in order; returns how many were dropped for lack of room."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        room = self.max_bytes - self.size()
        kept = 0
        for line in lines:
            if len(line) > room:
                break
            room -= len(line)
            kept += 1
        if kept:
            with self.path.open("ab") as file:
                file.write(b"".join(lines[:kept]))
        return len(lines) - kept

    def lines(self) -> list[bytes]:
        try:
            return self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class Spool(BoundedFile):
    def __init__(self, path: pathlib.Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        super().__init__(path, max_bytes)

    def append(self, rows: Sequence[Entry]) -> int:
        """Append what fits; returns how many rows were dropped (for lack of room, or unencodable)."""
        lines = encodable(encode, rows)
        return len(rows) - len(lines) + self.append_lines(lines)

    def read(self) -> list[Entry]:
        # A line cut by a crash mid-write is incomplete JSON: skip it rather than lose the rest.
        rows = []
        for line in self.lines():
            try:
                rows.append(decode(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return rows
