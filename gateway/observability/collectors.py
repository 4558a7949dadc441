"""Gauges of a replica's in-memory state, read when Prometheus scrapes, never on the request path.

Budgets, leases, provider health, the bandit, the log pipeline and the Postgres pool change on every request;
setting a gauge each time would put a lock and a label lookup on the hot path for a value read every 15 s. A
``Source`` hands over one ``Reading`` of plain values per scrape instead (built by ``gateway.serving``, which may
look at routing and accounting; this package may not). Label values come from configured resource names only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

HEALTH_STATES = ("healthy", "degraded", "down", "half_open")


@dataclasses.dataclass(frozen=True, slots=True)
class KeyBudget:
    namespace: str
    api_key: str
    limit_usd: float | None  # monthly budget; None when the key has none
    spent_usd: float | None  # fleet-wide spend this month as Postgres reported it at this replica's last grant
    free_usd: float  # held by this replica, not reserved
    reserved_usd: float  # reserved by requests in flight on this replica


@dataclasses.dataclass(frozen=True, slots=True)
class KeyRefusals:
    namespace: str
    api_key: str
    reason: str  # budget, rpm, tpm, unavailable, concurrent
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderState:
    namespace: str
    provider: str
    state: str  # one of HEALTH_STATES
    error_ratio: float  # EWMA over real traffic
    latency_s: float | None  # EWMA over real traffic


@dataclasses.dataclass(frozen=True, slots=True)
class ModelState:
    namespace: str
    model: str
    provider: str
    available: bool  # routable and its provider takes traffic now


@dataclasses.dataclass(frozen=True, slots=True)
class BanditArm:
    namespace: str
    model: str
    bucket: str  # request-size bucket: small, medium, large
    mean: float


@dataclasses.dataclass(frozen=True, slots=True)
class Leases:
    open_reservations: int = 0
    admitted: int = 0
    admitted_unleased: int = 0
    waited: int = 0
    grants: int = 0
    store_failures: int = 0
    reclaimed: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class LogPipeline:
    queued: int = 0
    spool_bytes: int = 0
    dead_letter_bytes: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Database:
    pool_open: int = 0  # connections the pool holds
    pool_idle: int = 0
    pool_waiting: int = 0  # borrowers waiting for a connection
    listener_connected: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    budgets: Sequence[KeyBudget] = ()
    refusals: Sequence[KeyRefusals] = ()
    providers: Sequence[ProviderState] = ()
    models: Sequence[ModelState] = ()
    bandit: Sequence[BanditArm] = ()
    leases: Leases = Leases()
    logs: LogPipeline = LogPipeline()
    database: Database = Database()
    prober_leading: bool | None = None  # None when this replica runs no health prober


class Source(Protocol):
    def read(self) -> Reading: ...


def _gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _counter(name: str, doc: str, labels: Sequence[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=list(labels))


class StateCollector(Collector):
    """Turns one ``Reading`` per scrape into metric families; ``describe`` names them without reading."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def describe(self) -> Iterator[Metric]:
        yield from self._families(Reading(prober_leading=False))

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._source.read())

    def _families(self, r: Reading) -> Iterator[Metric]:
        yield from _budgets(r)
        yield from _health(r)
        yield from _pipeline(r)


def _budgets(r: Reading) -> Iterator[Metric]:
    key = ("namespace", "api_key")
    limit = _gauge("tokenhub_budget_limit_usd", "Monthly budget of an ApiKey in USD (keys with a budget only).", key)
    spent = _gauge(
        "tokenhub_budget_spent_usd",
        "What an ApiKey spent this month across the fleet, as Postgres reported it at this replica's last lease"
        " grant (take the max over replicas).",
        key,
    )
    lease = _gauge(
        "tokenhub_lease_budget_usd",
        "Budget this replica holds for an ApiKey this month: free (held, unreserved) or reserved (in flight).",
        [*key, "state"],
    )
    for b in r.budgets:
        if b.limit_usd is not None:
            limit.add_metric([b.namespace, b.api_key], b.limit_usd)
        if b.spent_usd is not None:
            spent.add_metric([b.namespace, b.api_key], b.spent_usd)
        lease.add_metric([b.namespace, b.api_key, "free"], b.free_usd)
        lease.add_metric([b.namespace, b.api_key, "reserved"], b.reserved_usd)
    refusals = _counter(
        "tokenhub_key_refusals",
        "Requests refused at admission by ApiKey and reason: budget, rpm, tpm, concurrent (the key's own limits)"
        " or unavailable (limits could not be checked).",
        [*key, "reason"],
    )
    for f in r.refusals:
        refusals.add_metric([f.namespace, f.api_key, f.reason], f.count)
    leases = r.leases
    open_reservations = _gauge("tokenhub_lease_open_reservations", "Reservations of requests in flight.")
    open_reservations.add_metric([], leases.open_reservations)
    admissions = _counter(
        "tokenhub_lease_admissions",
        "Requests admitted by the lease manager: leased (against a held lease) or unleased (fail-open while"
        " Postgres was unreachable).",
        ["result"],
    )
    admissions.add_metric(["leased"], leases.admitted - leases.admitted_unleased)
    admissions.add_metric(["unleased"], leases.admitted_unleased)
    waits = _counter("tokenhub_lease_waits", "Admissions that waited for a first grant from Postgres.")
    waits.add_metric([], leases.waited)
    grants = _counter("tokenhub_lease_grants", "Lease grants asked of Postgres (budget or rate window).")
    grants.add_metric([], leases.grants)
    failures = _counter("tokenhub_lease_store_failures", "Lease refills or upkeep that could not reach Postgres.")
    failures.add_metric([], leases.store_failures)
    reclaimed = _counter("tokenhub_lease_reclaimed", "Expired leases of other replicas this replica swept.")
    reclaimed.add_metric([], leases.reclaimed)
    yield from (limit, spent, lease, refusals, open_reservations, admissions, waits, grants, failures, reclaimed)


def _health(r: Reading) -> Iterator[Metric]:
    provider = ("namespace", "provider")
    state = _gauge(
        "tokenhub_provider_health_state",
        "1 for a Provider's current health state (healthy, degraded, down, half_open), 0 for the others.",
        [*provider, "state"],
    )
    circuit = _gauge(
        "tokenhub_provider_circuit_open",
        "1 while a Provider's circuit is open (down, or half-open and not yet proven by a success).",
        provider,
    )
    errors = _gauge("tokenhub_provider_error_ratio", "EWMA of failed attempts over real traffic.", provider)
    latency = _gauge("tokenhub_provider_latency_seconds", "EWMA of attempt latency over real traffic.", provider)
    for p in r.providers:
        labels = [p.namespace, p.provider]
        for name in HEALTH_STATES:
            state.add_metric([*labels, name], 1.0 if p.state == name else 0.0)
        circuit.add_metric(labels, 1.0 if p.state in ("down", "half_open") else 0.0)
        errors.add_metric(labels, p.error_ratio)
        if p.latency_s is not None:
            latency.add_metric(labels, p.latency_s)
    available = _gauge(
        "tokenhub_model_available",
        "1 when a Model is routable and its Provider takes traffic now.",
        ["namespace", "model", "provider"],
    )
    for m in r.models:
        available.add_metric([m.namespace, m.model, m.provider], 1.0 if m.available else 0.0)
    bandit = _gauge(
        "tokenhub_bandit_posterior_mean",
        "Mean of the Thompson-sampling Beta posterior of a Model per request-size bucket (as of its last reward).",
        ["namespace", "model", "bucket"],
    )
    for arm in r.bandit:
        bandit.add_metric([arm.namespace, arm.model, arm.bucket], arm.mean)
    yield from (state, circuit, errors, latency, available, bandit)
    if r.prober_leading is not None:
        leading = _gauge(
            "tokenhub_health_prober_leading",
            "1 on the one replica that holds the active health prober's lock (absent where probes are off).",
        )
        leading.add_metric([], 1.0 if r.prober_leading else 0.0)
        yield leading


def _pipeline(r: Reading) -> Iterator[Metric]:
    queued = _gauge("tokenhub_request_log_queue", "Request-log rows waiting in memory for the writer.")
    queued.add_metric([], r.logs.queued)
    spool = _gauge(
        "tokenhub_request_log_spool_bytes", "Bytes of request-log rows spooled to disk while Postgres was down."
    )
    spool.add_metric([], r.logs.spool_bytes)
    dead = _gauge(
        "tokenhub_request_log_dead_letter_bytes", "Bytes of request-log rows Postgres refused, in the dead-letter file."
    )
    dead.add_metric([], r.logs.dead_letter_bytes)
    db = r.database
    pool = _gauge(
        "tokenhub_db_pool_connections", "Postgres pool connections: open (held by the pool), idle.", ["state"]
    )
    pool.add_metric(["open"], db.pool_open)
    pool.add_metric(["idle"], db.pool_idle)
    waiting = _gauge("tokenhub_db_pool_waiting", "Borrowers waiting for a pooled Postgres connection.")
    waiting.add_metric([], db.pool_waiting)
    listener = _gauge("tokenhub_db_listener_connected", "1 while the config listener's LISTEN session is connected.")
    listener.add_metric([], 1.0 if db.listener_connected else 0.0)
    yield from (queued, spool, dead, pool, waiting, listener)
