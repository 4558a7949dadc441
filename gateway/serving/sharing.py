"""Share health and bandit statistics between replicas through Postgres, off the request path.

Every ``interval_s`` one task sends this replica's own evidence (the providers and arms that changed) and reads
the other replicas' in two statements; requests only ever read memory. Replicas publish their own evidence,
never what they merged in, so nothing echoes or counts twice. Times cross processes as Unix seconds and are
turned back into this process's monotonic clock on arrival. Postgres down: keep local state, retry next tick.
An exchange Postgres refuses is not retried with the same rows: they would be refused forever; the evidence is
published again once it changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from gateway.routing import health, thompson
from gateway.store import bandit_repo, errors, health_repo, pool

log = logging.getLogger(__name__)

Arm = tuple[str, str, thompson.Bucket]  # namespace, model, bucket


@dataclasses.dataclass(frozen=True, slots=True)
class SharingSettings:
    interval_s: float = 2.0
    ewma_half_life_s: float = 30.0  # how fast another replica's latency and error rate lose weight once idle
    horizon_s: float = 300.0  # other replicas' health rows older than this are not read (unless cooling down)
    forget_s: float = 3600.0  # ... and are deleted after this, once no cooldown is left
    stop_timeout_s: float = 2.0  # the last exchange at shutdown waits no longer


@dataclasses.dataclass(frozen=True, slots=True)
class Remote:
    """Another replica's health of one provider, in this process's monotonic time."""

    retry_after_until: float = 0.0
    down_until: float = 0.0
    trips: int = 0
    error_rate: float = 0.0
    latency_ms: float | None = None
    observed_at: float | None = None
    probe: health.Probe | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Own:
    """This replica's own health of one provider, as it publishes it."""

    provider: str
    health: health.ProviderHealth
    observed_at: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class OwnArm:
    arm: Arm
    stats: thompson.ArmStats
    half_life_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class Outbox:
    health: tuple[Own, ...] = ()
    arms: tuple[OwnArm, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Inbox:
    health: Mapping[str, tuple[Remote, ...]]
    arms: Mapping[Arm, OwnArm]  # the other replicas' evidence, summed per arm


# -- pure: clocks ------------------------------------------------------------------------------------------------


def to_wall(t: float, offset: float) -> float:
    """A monotonic time as Unix seconds, with ``offset = time.time() - time.monotonic()`` taken together."""
    return t + offset


def to_mono(t: float, offset: float) -> float:
    return t - offset


def published(own: Own, offset: float) -> health_repo.Published:
    h, probe = own.health, own.health.probe
    return health_repo.Published(
        provider=own.provider,
        retry_after_until=to_wall(h.retry_after_until, offset) if h.retry_after_until else 0.0,
        down_until=to_wall(h.down_until, offset) if h.state is health.State.DOWN and h.down_until else 0.0,
        trips=h.trips,
        error_rate=h.error_rate,
        latency_ms=h.latency_ms,
        observed_at=to_wall(own.observed_at, offset) if own.observed_at is not None else None,
        probe_ok=probe.ok if probe else None,
        probe_latency_ms=probe.latency_ms if probe else None,
        probe_at=to_wall(probe.at, offset) if probe else None,
        probe_failures=probe.consecutive_failures if probe else 0,
        probe_failing_since=to_wall(probe.failing_since, offset) if probe and probe.failing_since else None,
    )


def remote(row: health_repo.Published, offset: float) -> Remote:
    probe = None
    if row.probe_ok is not None and row.probe_at is not None:
        since = to_mono(row.probe_failing_since, offset) if row.probe_failing_since is not None else None
        probe = health.Probe(
            row.probe_ok, row.probe_latency_ms, to_mono(row.probe_at, offset), row.probe_failures, since
        )
    return Remote(
        retry_after_until=to_mono(row.retry_after_until, offset) if row.retry_after_until else 0.0,
        down_until=to_mono(row.down_until, offset) if row.down_until else 0.0,
        trips=row.trips,
        error_rate=row.error_rate,
        latency_ms=row.latency_ms,
        observed_at=to_mono(row.observed_at, offset) if row.observed_at is not None else None,
        probe=probe,
    )


def arm_row(own: OwnArm, offset: float) -> bandit_repo.ArmRow:
    namespace, model, bucket = own.arm
    s = own.stats
    return bandit_repo.ArmRow(namespace, model, bucket.value, s.alpha, s.beta, to_wall(s.at, offset), own.half_life_s)


def arm_in(row: bandit_repo.ArmRow, offset: float) -> OwnArm | None:
    """A stored arm in monotonic time; None for a bucket this version does not know."""
    try:
        bucket = thompson.Bucket(row.bucket)
    except ValueError:
        return None
    stats = thompson.ArmStats(row.alpha, row.beta, to_mono(row.at, offset))
    return OwnArm((row.namespace, row.model, bucket), stats, row.half_life_s)


# -- pure: combining ---------------------------------------------------------------------------------------------


def _weight(observed_at: float | None, now: float, half_life_s: float) -> float:
    return 0.0 if observed_at is None else thompson.decay_factor(now - observed_at, half_life_s)


def combine(
    own: health.ProviderHealth,
    own_observed_at: float | None,
    others: Sequence[Remote],
    now: float,
    ewma_half_life_s: float,
) -> health.ProviderHealth:
    """The view routing reads: this replica's record with the fleet's cooldowns and traffic statistics.

    Cooldown deadlines take the latest of all (a 429 seen anywhere keeps everyone away). Latency and error
    rate are means of every replica's EWMA, each weighted by how recently that replica saw traffic (halving
    every ``ewma_half_life_s``): replicas behind a load balancer see the same provider through similar
    samples, so the fresh estimates are pooled and a replica that stopped sending stops counting.
    """
    if not others:
        return own
    view = own
    retry = max(own.retry_after_until, *(o.retry_after_until for o in others))
    own_down = own.down_until if own.state is health.State.DOWN else 0.0
    worst = max(others, key=lambda o: o.down_until)
    if worst.down_until > max(now, own_down):
        view = replace(view, state=health.State.DOWN, down_until=worst.down_until, trips=max(own.trips, worst.trips))
    w_own = _weight(own_observed_at, now, ewma_half_life_s)
    sources = [(w_own, own.error_rate, own.latency_ms)]
    sources += [(_weight(o.observed_at, now, ewma_half_life_s), o.error_rate, o.latency_ms) for o in others]
    total = sum(w for w, _, _ in sources)
    error_rate = sum(w * e for w, e, _ in sources) / total if total > 0 else own.error_rate
    timed = [(w, x) for w, _, x in sources if x is not None and w > 0]
    latency = sum(w * x for w, x in timed) / sum(w for w, _ in timed) if timed else own.latency_ms
    return replace(view, retry_after_until=retry, error_rate=error_rate, latency_ms=latency)


def adopt_circuit(own: health.ProviderHealth, view: health.ProviderHealth | None) -> health.ProviderHealth:
    """Before recording this replica's own traffic: take over a circuit another replica opened, so that a failure
    in its half-open window re-opens it with a doubled cooldown, as it would have locally."""
    if view is None or view.state is not health.State.DOWN:
        return own
    if own.state is health.State.DOWN and own.down_until >= view.down_until:
        return own
    return replace(own, state=health.State.DOWN, down_until=view.down_until, trips=max(own.trips, view.trips))


def adopt_probe(
    own: health.ProviderHealth, probe: health.Probe, settings: health.HealthSettings
) -> health.ProviderHealth:
    """Apply the elected prober's latest result as if this replica had probed; a no-op for one it already has."""
    if own.probe is not None and own.probe.at >= probe.at:
        return own
    if probe.ok:
        if own.state is health.State.DOWN and probe.at < own.changed_at:
            return replace(own, probe=probe)  # the circuit opened after this probe: newer evidence stands
        return health.on_probe(own, True, probe.latency_ms, probe.at, settings)
    previous = None  # the prober's record before this result, so that on_probe counts the failures alike
    if probe.consecutive_failures > 1:
        since = probe.failing_since if probe.failing_since is not None else probe.at
        previous = health.Probe(False, None, since, probe.consecutive_failures - 1, since)
    return health.on_probe(replace(own, probe=previous), False, probe.latency_ms, probe.at, settings)


def combine_arm(others: OwnArm | None, own: OwnArm | None) -> thompson.ArmStats:
    """The fleet's evidence for one arm: ``thompson.merge`` of the others' sum and this replica's own."""
    if own is None:
        return others.stats if others is not None else thompson.ArmStats()
    if others is None:
        return own.stats
    return thompson.merge(others.stats, own.stats, 0.0, own.half_life_s)


# -- this replica's books ----------------------------------------------------------------------------------------


class Books:
    """This replica's own evidence beside the views routing reads; a view is recomputed whenever either side moves.

    The views (``health``, ``bandits``) are updated in place, so whoever holds them sees every change.
    """

    def __init__(self, settings: health.HealthSettings, ewma_half_life_s: float = 30.0) -> None:
        self.settings = settings
        self.health: dict[str, health.ProviderHealth] = {}
        self.bandits: dict[str, dict[tuple[str, thompson.Bucket], thompson.ArmStats]] = {}
        self.own: dict[str, health.ProviderHealth] = {}
        self._ewma_half_life_s = ewma_half_life_s
        self._observed_at: dict[str, float] = {}
        self._remote: Mapping[str, tuple[Remote, ...]] = {}
        self._dirty: set[str] = set()
        self._own_arms: dict[Arm, OwnArm] = {}
        self._remote_arms: Mapping[Arm, OwnArm] = {}
        self._dirty_arms: set[Arm] = set()

    def _view(self, name: str, now: float) -> health.ProviderHealth:
        own = self.own.get(name, health.UNKNOWN)
        return combine(own, self._observed_at.get(name), self._remote.get(name, ()), now, self._ewma_half_life_s)

    def record(self, name: str, own: health.ProviderHealth, now: float, *, traffic: bool) -> None:
        """This replica's new record of a provider; ``traffic`` when it came from a real request."""
        self.own[name] = own
        if traffic:
            self._observed_at[name] = now
        self._dirty.add(name)
        self.health[name] = self._view(name, now)

    def observe(self, arm: Arm, r: float, now: float, half_life_s: float) -> None:
        """A reward earned here: added to this replica's own evidence and to the view alike."""
        found = self._own_arms.get(arm)
        stats = thompson.observe(found.stats if found else thompson.ArmStats(), r, now, half_life_s)
        self._own_arms[arm] = OwnArm(arm, stats, half_life_s)
        self._dirty_arms.add(arm)
        namespace, model, bucket = arm
        view = self.bandits.setdefault(namespace, {})
        view[(model, bucket)] = thompson.observe(view.get((model, bucket), thompson.ArmStats()), r, now, half_life_s)

    def take_outbox(self) -> Outbox:
        """What changed since the last exchange; handed back with ``return_outbox`` if the exchange fails."""
        own = tuple(Own(n, self.own[n], self._observed_at.get(n)) for n in sorted(self._dirty) if n in self.own)
        arms = tuple(self._own_arms[a] for a in sorted(self._dirty_arms))
        self._dirty.clear()
        self._dirty_arms.clear()
        return Outbox(own, arms)

    def return_outbox(self, outbox: Outbox) -> None:
        self._dirty.update(o.provider for o in outbox.health)
        self._dirty_arms.update(o.arm for o in outbox.arms)

    def absorb(self, inbox: Inbox, now: float) -> None:
        """Take in what the other replicas published: their probe results, then the recomputed views."""
        self._remote = inbox.health
        for name, others in inbox.health.items():
            probes = [o.probe for o in others if o.probe is not None]
            if probes:
                own = self.own.get(name, health.UNKNOWN)
                adopted = adopt_probe(own, max(probes, key=lambda p: p.at), self.settings)
                if adopted is not own:
                    self.own[name] = adopted
                    self._dirty.add(name)
        for name in set(self.health) | set(self.own) | set(self._remote):
            if name in self.own or name in self._remote:
                self.health[name] = self._view(name, now)
            else:
                del self.health[name]
        self._remote_arms = inbox.arms
        arms = set(self._own_arms) | set(self._remote_arms)
        for namespace, view in self.bandits.items():
            for model, bucket in [k for k in view if (namespace, *k) not in arms]:
                del view[(model, bucket)]
        for arm in arms:
            namespace, model, bucket = arm
            stats = combine_arm(self._remote_arms.get(arm), self._own_arms.get(arm))
            self.bandits.setdefault(namespace, {})[(model, bucket)] = stats


# -- the seam and the loop ---------------------------------------------------------------------------------------


class Shareable(Protocol):
    """What a replica shares: implemented by ``routing_state.RoutingState``."""

    def take_outbox(self) -> Outbox: ...

    def return_outbox(self, outbox: Outbox) -> None: ...

    def absorb(self, inbox: Inbox, now: float) -> None: ...


class SharedStore(Protocol):
    async def exchange(
        self, replica: str, health_rows: Sequence[health_repo.Published], arms: Sequence[bandit_repo.ArmRow], now: float
    ) -> tuple[list[health_repo.Published], list[bandit_repo.ArmRow]]: ...


class PgSharedStore:
    """Two statements on one pooled connection: health, then bandit statistics."""

    def __init__(self, db: pool.Database, settings: SharingSettings) -> None:
        self._db = db
        self._settings = settings

    async def exchange(
        self, replica: str, health_rows: Sequence[health_repo.Published], arms: Sequence[bandit_repo.ArmRow], now: float
    ) -> tuple[list[health_repo.Published], list[bandit_repo.ArmRow]]:
        s = self._settings
        async with self._db.connection("statistics exchange", timeout_s=s.interval_s) as conn:
            rows = await health_repo.exchange(
                conn, replica, health_rows, now=now, horizon_s=s.horizon_s, forget_s=s.forget_s
            )
            summed = await bandit_repo.exchange(conn, replica, arms, now=now)
        return rows, summed


class Sharing:
    """The background task: one exchange every ``interval_s``; a failed one hands the outbox back for the next."""

    def __init__(
        self,
        routing: Shareable,
        store: SharedStore,
        replica: str,
        settings: SharingSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._routing = routing
        self._store = store
        self.replica = replica
        self.settings = settings or SharingSettings()
        self._monotonic = monotonic
        self._wall = wall
        self._lock = asyncio.Lock()
        self.exchanges = 0
        self.failures = 0

    async def sync_once(self) -> bool:
        """One exchange; False when it failed (state kept; the outbox handed back when Postgres was unreachable)."""
        async with self._lock:
            outbox = self._routing.take_outbox()
            wall = self._wall()
            offset = wall - self._monotonic()
            mine = [published(own, offset) for own in outbox.health]
            arms = [arm_row(own, offset) for own in outbox.arms]
            try:
                rows, summed = await self._store.exchange(self.replica, mine, arms, wall)
            except errors.StoreUnavailable as exc:
                self._routing.return_outbox(outbox)
                self.failures += 1
                log.warning("could not share health and bandit statistics (%s); retrying later", exc)
                return False
            except errors.StatementRejected as exc:
                self.failures += 1
                log.error("Postgres refused this replica's health and bandit statistics; not resent: %s", exc)
                return False
            except asyncio.CancelledError:
                self._routing.return_outbox(outbox)  # rows are overwritten, so sending them again is harmless
                raise
            grouped: dict[str, list[Remote]] = {}
            for row in rows:
                grouped.setdefault(row.provider, []).append(remote(row, offset))
            found = (arm_in(row, offset) for row in summed)
            inbox = Inbox({k: tuple(v) for k, v in grouped.items()}, {a.arm: a for a in found if a is not None})
            self._routing.absorb(inbox, self._monotonic())
            self.exchanges += 1
            return True

    async def run(self) -> None:
        while True:
            await self.sync_once()
            await asyncio.sleep(self.settings.interval_s)

    async def flush(self) -> None:
        """At shutdown: publish the evidence gathered since the last exchange, within ``stop_timeout_s``."""
        try:
            await asyncio.wait_for(self.sync_once(), self.settings.stop_timeout_s)
        except TimeoutError:
            log.warning("the last exchange of health and bandit statistics timed out")
