"""A candidate to try: a model of the snapshot and why the routing engine ranked it where it did."""

from __future__ import annotations

import dataclasses

from gateway.config import snapshot


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    model: snapshot.ModelEntry
    reason: str
