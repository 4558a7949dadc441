"""The failover plan: given the ranked candidates and the attempts so far, what to do next.

Error classes arrive as ``ErrorClass`` values (``serving`` maps provider exceptions onto them, so this package
never imports ``providers``). The planner terminates: it retries only the last candidate, a bounded number of
times, else moves to an untried one: at most ``len(candidates) * (1 + max_same_retries)`` attempts.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol


class ErrorClass(enum.StrEnum):
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    CONTEXT_OVERFLOW = "context_overflow"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    FATAL = "fatal"
    STREAM_BROKEN = "stream_broken"  # broke before the first byte reached the client


class Outcome(enum.StrEnum):
    RETRY_SAME = "retry_same"
    NEXT_CANDIDATE = "next_candidate"
    ESCALATE_CONTEXT = "escalate_context"
    STOP = "stop"


OUTCOME_OF: Final = MappingProxyType(
    {
        ErrorClass.TRANSIENT: Outcome.RETRY_SAME,
        ErrorClass.RATE_LIMITED: Outcome.NEXT_CANDIDATE,
        ErrorClass.AUTH: Outcome.NEXT_CANDIDATE,
        ErrorClass.STREAM_BROKEN: Outcome.NEXT_CANDIDATE,
        ErrorClass.CONTEXT_OVERFLOW: Outcome.ESCALATE_CONTEXT,
        ErrorClass.BAD_REQUEST: Outcome.STOP,
        ErrorClass.FATAL: Outcome.STOP,
    }
)
# A provider that answered 429 (it is cooling down) or rejected our credentials gets no further attempt.
BLOCKS_PROVIDER = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.AUTH})


class Option(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def context_window(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream attempt, as recorded in the decision and the request log; ``error`` None is success."""

    model: str
    provider: str
    error: ErrorClass | None = None
    latency_ms: float = 0.0
    delay_s: float = 0.0  # the backoff waited before this attempt


@dataclass(frozen=True, slots=True)
class FailoverSettings:
    max_same_retries: int = 2
    backoff_base_s: float = 0.1
    backoff_max_s: float = 2.0
    max_attempts: int = 10


@dataclass(frozen=True, slots=True)
class Step:
    outcome: Outcome
    candidate: int | None  # position in the ranked candidates; None when stopping
    delay_s: float
    reason: str
    cooldown_provider: str | None = None  # the caller records a cooldown (Retry-After) for this provider


def _first_open(
    candidates: Sequence[Option], tried: set[str], blocked: set[str], min_window: int | None = None
) -> int | None:
    for k, c in enumerate(candidates):
        if c.name in tried or c.provider in blocked:
            continue
        if min_window is not None and not c.context_window > min_window:
            continue
        return k
    return None


def _streak(attempts: Sequence[Attempt]) -> int:
    last = attempts[-1]
    n = 0
    for a in reversed(attempts):
        if a.model != last.model or a.error is not ErrorClass.TRANSIENT:
            break
        n += 1
    return n


def backoff(retry: int, settings: FailoverSettings, rng: random.Random) -> float:
    """Jittered exponential backoff before retry number ``retry`` (1-based): base·2^(n-1)·U(0.5, 1.5)."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2.0 ** (retry - 1))
    return ceiling * rng.uniform(0.5, 1.5)


def next_step(
    candidates: Sequence[Option],
    attempts: Sequence[Attempt],
    *,
    rng: random.Random,
    settings: FailoverSettings = FailoverSettings(),
) -> Step:
    tried = {a.model for a in attempts}
    blocked = {a.provider for a in attempts if a.error in BLOCKS_PROVIDER}
    if not attempts:
        first = _first_open(candidates, tried, blocked)
        if first is None:
            return Step(Outcome.STOP, None, 0.0, "no eligible candidate")
        return Step(Outcome.NEXT_CANDIDATE, first, 0.0, "first candidate")
    last = attempts[-1]
    if last.error is None:
        return Step(Outcome.STOP, None, 0.0, "succeeded")
    if len(attempts) >= settings.max_attempts:
        return Step(Outcome.STOP, None, 0.0, f"attempt limit {settings.max_attempts} reached")
    outcome = OUTCOME_OF[last.error]
    cooldown = last.provider if last.error is ErrorClass.RATE_LIMITED else None
    if outcome is Outcome.STOP:
        return Step(Outcome.STOP, None, 0.0, f"{last.error} is final")
    if outcome is Outcome.RETRY_SAME:
        streak = _streak(attempts)
        same = next((k for k, c in enumerate(candidates) if c.name == last.model), None)
        if same is not None and streak <= settings.max_same_retries:
            delay = backoff(streak, settings, rng)
            return Step(Outcome.RETRY_SAME, same, delay, f"transient error, retry {streak}")
        outcome = Outcome.NEXT_CANDIDATE
    if outcome is Outcome.ESCALATE_CONTEXT:
        window = next((c.context_window for c in candidates if c.name == last.model), 0)
        k = _first_open(candidates, tried, blocked, min_window=window)
        if k is None:
            return Step(Outcome.STOP, None, 0.0, f"no candidate with a context window above {window}")
        return Step(Outcome.ESCALATE_CONTEXT, k, 0.0, "context overflow, larger window", cooldown)
    k = _first_open(candidates, tried, blocked)
    if k is None:
        return Step(Outcome.STOP, None, 0.0, f"candidates exhausted after {last.error}", cooldown)
    return Step(Outcome.NEXT_CANDIDATE, k, 0.0, f"{last.error}, next candidate", cooldown)
