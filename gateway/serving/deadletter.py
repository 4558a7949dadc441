"""Request-log rows Postgres refused even once made storable, kept in a bounded local file beside the spool.

One JSON object per line: when and why (the error and its SQLSTATE), whether a stand-in row and the charge were
written, and the row with its charge in the spool's format - enough to inspect it, fix it and load it by hand.
Nothing replays it: a refused row is never retried by itself. Beyond ``max_bytes`` letters are dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
from collections.abc import Sequence

import orjson

from gateway.serving import spool
from gateway.store import storable


@dataclasses.dataclass(frozen=True, slots=True)
class Letter:
    entry: spool.Entry
    error: str
    sqlstate: str | None  # None when the client refused the value before Postgres saw it
    stand_in: bool  # a minimal row with the same log_id (and the charge) was written instead
    charge_lost: bool  # the entry had a charge that could not be recorded
    at: dt.datetime


def beside(spool_path: pathlib.Path) -> pathlib.Path:
    """Where the dead letters of the spool at ``spool_path`` go: ``request-logs.jsonl`` -> ``….dead.jsonl``."""
    return spool_path.with_name(f"{spool_path.stem}.dead{spool_path.suffix or '.jsonl'}")


def encode(letter: Letter) -> bytes:
    return (
        orjson.dumps(
            {
                "at": letter.at.isoformat(),
                "error": storable.text(letter.error, 2000),
                "sqlstate": letter.sqlstate,
                "stand_in": letter.stand_in,
                "charge_lost": letter.charge_lost,
                "entry": spool.to_json(letter.entry),
            }
        )
        + b"\n"
    )


def decode(line: bytes) -> Letter:
    data = orjson.loads(line)
    return Letter(
        entry=spool.from_json(data["entry"]),
        error=data["error"],
        sqlstate=data["sqlstate"],
        stand_in=data["stand_in"],
        charge_lost=data["charge_lost"],
        at=dt.datetime.fromisoformat(data["at"]),
    )


class DeadLetters(spool.BoundedFile):
    def __init__(self, path: pathlib.Path, max_bytes: int = 16 * 1024 * 1024) -> None:
        super().__init__(path, max_bytes)

    def append(self, letters: Sequence[Letter]) -> int:
        """Append what fits; returns how many letters were dropped (for lack of room, or unencodable)."""
        lines = spool.encodable(encode, letters)
        return len(letters) - len(lines) + self.append_lines(lines)

    def read(self) -> list[Letter]:
        """Every whole letter (a line cut by a crash is skipped)."""
        letters = []
        for line in self.lines():
            try:
                letters.append(decode(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return letters
