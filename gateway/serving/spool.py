"""A bounded local file for request-log rows (and their budget charges) that Postgres could not take.

One JSON object per line. Replaying is safe to repeat: rows are keyed by request id and the store skips the ones
it already has. The file is bounded (``max_bytes``); rows beyond it are dropped and counted, never blocking the
request path. Rows survive a gateway restart while Postgres is still down.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
from decimal import Decimal
from typing import Any

import orjson

from gateway.accounting import values
from gateway.store import logs_repo

Entry = tuple[logs_repo.RequestLogRow, values.Charge | None]


def encode(entry: Entry) -> bytes:
    row, charge = entry
    data = dataclasses.asdict(row)
    data["created_at"] = row.created_at.isoformat()
    data["cost_usd"] = str(row.cost_usd)
    data["attempts"] = list(row.attempts)
    if charge is not None:
        data["charge"] = {
            "reservation_id": charge.reservation_id,
            "namespace": charge.key.namespace,
            "name": charge.key.name,
            "period": charge.period,
            "holder": charge.holder,
            "cost_usd": str(charge.cost_usd),
        }
    return orjson.dumps(data) + b"\n"


def decode(line: bytes) -> Entry:
    data: dict[str, Any] = orjson.loads(line)
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


class Spool:
    def __init__(self, path: pathlib.Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, rows: list[Entry]) -> int:
        """Append what fits; returns how many rows were dropped for lack of room."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        room = self.max_bytes - self.size()
        lines = []
        for row in rows:
            line = encode(row)
            if len(line) > room:
                break
            room -= len(line)
            lines.append(line)
        if lines:
            with self.path.open("ab") as file:
                file.write(b"".join(lines))
        return len(rows) - len(lines)

    def read(self) -> list[Entry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        # A line cut by a crash mid-write is incomplete JSON: skip it rather than lose the rest.
        rows = []
        for line in raw.splitlines():
            try:
                rows.append(decode(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return rows

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
