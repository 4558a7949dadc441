"""An in-memory ``sharing.SharedStore`` with the Postgres store's semantics, for unit tests of the protocol.

Each replica's rows are overwritten by that replica only; a read returns the other replicas' health rows and
their arm evidence folded with ``thompson.merge`` - what the SQL computes with ``power(0.5, ...)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from gateway.routing import thompson
from gateway.store import bandit_repo, errors, health_repo


class MemoryStore:
    def __init__(self) -> None:
        self.health: dict[tuple[str, str], health_repo.Published] = {}
        self.arms: dict[tuple[str, str, str, str], bandit_repo.ArmRow] = {}
        self.down = False
        self.rejecting = False  # Postgres refuses the statement (a value it cannot store, say)
        self.stalled = False  # exchanges hang until cancelled
        self.exchanges = 0

    async def exchange(
        self, replica: str, health_rows: Sequence[health_repo.Published], arms: Sequence[bandit_repo.ArmRow], now: float
    ) -> tuple[list[health_repo.Published], list[bandit_repo.ArmRow]]:
        if self.down:
            raise errors.StoreUnavailable("statistics exchange: connection refused")
        if self.rejecting:
            raise errors.StatementRejected("statistics exchange: value out of range", "22003")
        if self.stalled:
            await asyncio.Event().wait()
        self.exchanges += 1
        for row in health_rows:
            self.health[(row.provider, replica)] = dataclasses.replace(row, replica=replica)
        for arm in arms:
            self.arms[(arm.namespace, arm.model, arm.bucket, replica)] = arm
        others = [row for (_, owner), row in self.health.items() if owner != replica]
        summed: dict[tuple[str, str, str], bandit_repo.ArmRow] = {}
        for (namespace, model, bucket, owner), arm in self.arms.items():
            if owner == replica:
                continue
            found = summed.get((namespace, model, bucket))
            if found is None:
                summed[(namespace, model, bucket)] = arm
                continue
            a = thompson.ArmStats(found.alpha, found.beta, found.at)
            b = thompson.ArmStats(arm.alpha, arm.beta, arm.at)
            m = thompson.merge(a, b, 0.0, arm.half_life_s)
            summed[(namespace, model, bucket)] = dataclasses.replace(found, alpha=m.alpha, beta=m.beta, at=m.at)
        return others, list(summed.values())
