"""Per-provider health as a pure state machine; every event returns a new immutable record.

Traffic feeds EWMA latency and error rate and a failure streak (healthy, degraded, down with a cooldown that
doubles per failed recovery); an expired cooldown reads half-open, never down. Probes are kept apart from
traffic statistics: they only open an idle provider's circuit or end a cooldown early, never a Retry-After.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace


class State(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class HealthSettings:
    latency_alpha: float = 0.2
    error_alpha: float = 0.1
    degraded_after: int = 2
    down_after: int = 5
    cooldown_s: float = 30.0
    max_cooldown_s: float = 600.0
    probe_down_after: int = 3


@dataclass(frozen=True, slots=True)
class Probe:
    ok: bool
    latency_ms: float | None
    at: float
    consecutive_failures: int = 0
    failing_since: float | None = None


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    state: State = State.HEALTHY
    latency_ms: float | None = None  # EWMA over real traffic only
    error_rate: float = 0.0  # EWMA over real traffic only
    consecutive_failures: int = 0
    down_until: float = 0.0
    retry_after_until: float = 0.0
    trips: int = 0  # consecutive openings without a success; each doubles the cooldown
    last_success_at: float | None = None
    changed_at: float = 0.0
    probe: Probe | None = None


HealthView = Mapping[str, ProviderHealth]
UNKNOWN = ProviderHealth()


def state_at(h: ProviderHealth, now: float) -> State:
    if h.state is State.DOWN and now >= h.down_until:
        return State.HALF_OPEN
    return h.state


def available(h: ProviderHealth, now: float) -> bool:
    """Whether traffic may go to the provider at ``now`` (half-open counts as available)."""
    return now >= h.retry_after_until and (h.state is not State.DOWN or now >= h.down_until)


def cooldown_s(trips: int, settings: HealthSettings) -> float:
    return float(min(settings.cooldown_s * 2.0 ** max(trips - 1, 0), settings.max_cooldown_s))


def _moved(h: ProviderHealth, state: State, now: float) -> float:
    return now if state is not h.state else h.changed_at


def on_success(h: ProviderHealth, latency_ms: float, now: float, settings: HealthSettings) -> ProviderHealth:
    a = settings.latency_alpha
    latency = latency_ms if h.latency_ms is None else (1 - a) * h.latency_ms + a * latency_ms
    return replace(
        h,
        state=State.HEALTHY,
        latency_ms=latency,
        error_rate=(1 - settings.error_alpha) * h.error_rate,
        consecutive_failures=0,
        down_until=0.0,
        trips=0,
        last_success_at=now,
        changed_at=_moved(h, State.HEALTHY, now),
    )


def on_failure(
    h: ProviderHealth, now: float, settings: HealthSettings, retry_after_s: float | None = None
) -> ProviderHealth:
    """One failed request; ``retry_after_s`` (from a 429/503) keeps traffic away for that long."""
    error_rate = (1 - settings.error_alpha) * h.error_rate + settings.error_alpha
    retry_until = h.retry_after_until
    if retry_after_s is not None and retry_after_s > 0:
        retry_until = max(retry_until, now + retry_after_s)
    current = state_at(h, now)
    consecutive = h.consecutive_failures + 1
    state, down_until, trips = h.state, h.down_until, h.trips
    if current is State.DOWN:
        pass  # a straggler that started before the circuit opened: the cooldown is already running
    elif current is State.HALF_OPEN or consecutive >= settings.down_after:
        trips = h.trips + 1
        state, down_until = State.DOWN, now + cooldown_s(trips, settings)
    elif consecutive >= settings.degraded_after:
        state = State.DEGRADED
    return replace(
        h,
        state=state,
        error_rate=error_rate,
        consecutive_failures=consecutive,
        down_until=down_until,
        retry_after_until=retry_until,
        trips=trips,
        changed_at=_moved(h, state, now),
    )


def on_probe(
    h: ProviderHealth, ok: bool, latency_ms: float | None, now: float, settings: HealthSettings
) -> ProviderHealth:
    """An active probe: recorded beside, never inside, the traffic statistics."""
    previous = h.probe
    if ok:
        probe = Probe(True, latency_ms, now)
        if h.state is State.DOWN and now < h.down_until:
            return replace(h, down_until=now, probe=probe)  # reachable again: go half-open early
        return replace(h, probe=probe)
    failures = (previous.consecutive_failures if previous and not previous.ok else 0) + 1
    since = previous.failing_since if previous and not previous.ok and previous.failing_since else now
    probe = Probe(False, latency_ms, now, failures, since)
    idle = h.last_success_at is None or h.last_success_at < since
    if failures >= settings.probe_down_after and idle and state_at(h, now) is not State.DOWN:
        trips = h.trips + 1
        return replace(
            h,
            state=State.DOWN,
            down_until=now + cooldown_s(trips, settings),
            trips=trips,
            changed_at=_moved(h, State.DOWN, now),
            probe=probe,
        )
    return replace(h, probe=probe)
