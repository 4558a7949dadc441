"""Pure construction of ``metav1.Condition``-shaped status: conditions keep their lastTransitionTime until their
status actually changes, so ``kubectl get`` ages and ``kubectl wait`` behave as users expect."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.config import documents


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool | None  # None: Unknown
    reason: str
    message: str = ""

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(
    wanted: Iterable[Condition],
    previous: Sequence[Mapping[str, Any]] | None,
    generation: int | None,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    before = {c.get("type"): c for c in previous or () if isinstance(c, Mapping)}
    out = []
    for cond in wanted:
        old = before.get(cond.type)
        changed = old is None or old.get("status") != cond.status_text
        out.append(
            {
                "type": cond.type,
                "status": cond.status_text,
                "observedGeneration": generation,
                "lastTransitionTime": _timestamp(now) if changed else old["lastTransitionTime"],  # type: ignore[index]
                "reason": cond.reason,
                "message": cond.message[:32768],
            }
        )
    return out


def ready(all_of: Iterable[Condition]) -> Condition:
    """``Ready`` summarising the others: the first not-True condition's reason, else True."""
    for cond in all_of:
        if cond.status is not True:
            return Condition("Ready", False if cond.status is False else None, cond.reason, cond.message)
    return Condition("Ready", True, "Reconciled", "stored in the configuration")


def compiled(problems: Sequence[documents.Finding]) -> Condition:
    """``Compiled``: whether every gateway serves the object as written, else the first problem's reason."""
    if not problems:
        return Condition("Compiled", True, "Compiled", "every gateway serves it as written")
    message = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems)
    return Condition("Compiled", False, problems[0].reason, message)
