"""What ``observability.collectors`` shows of a replica, read from its memory when Prometheus scrapes.

Everything here is already held in memory (the ledger, the routing books, the config snapshot, the writer's queue);
a scrape costs no Postgres round trip, only two ``stat`` calls for the spool and dead-letter files. Models and
bandit arms are listed only when the served snapshot configures them, so label values are resource names.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from gateway.accounting import leases, values
from gateway.config import snapshot
from gateway.observability import collectors
from gateway.routing import health, thompson
from gateway.serving import admission, config_source, logwriter, prober, routing_state, routing_tables
from gateway.store import listener as listener_mod
from gateway.store import pool


class RuntimeSource:
    def __init__(
        self,
        config: config_source.ConfigHolder,
        lease_manager: leases.LeaseManager,
        routing: routing_state.RoutingState,
        logs: logwriter.LogWriter,
        db: pool.Database,
        in_flight: admission.InFlight,
        *,
        listener: Callable[[], listener_mod.RevisionListener | None],
        health_prober: prober.Prober | None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._config = config
        self._leases = lease_manager
        self._routing = routing
        self._logs = logs
        self._db = db
        self._in_flight = in_flight
        self._listener = listener
        self._prober = health_prober
        self._clock = clock
        self._wall_clock = wall_clock

    def read(self) -> collectors.Reading:
        snap = self._config.current
        spooled, dead = self._logs.files()
        size, idle, waiting = self._db.pool_stats()
        listener = self._listener()
        return collectors.Reading(
            budgets=self._budgets(),
            refusals=self._refusals(),
            providers=self._providers(snap) if snap is not None else (),
            models=self._models(snap) if snap is not None else (),
            bandit=self._bandit(snap) if snap is not None else (),
            leases=self._lease_stats(),
            logs=collectors.LogPipeline(self._logs.pending, spooled, dead),
            database=collectors.Database(size, idle, waiting, listener is not None and listener.connected.is_set()),
            prober_leading=self._prober.leading if self._prober is not None else None,
        )

    def _budgets(self) -> list[collectors.KeyBudget]:
        now = self._wall_clock()
        period = values.period_of(now)
        spent = self._leases.stats.spent
        found = []
        for key, limits, free, reserved in self._leases.ledger.budgets(now):
            if limits.budget_usd is None:
                continue
            seen = spent.get(key)
            found.append(
                collectors.KeyBudget(
                    key.namespace,
                    key.name,
                    float(limits.budget_usd),
                    float(seen[1]) if seen is not None and seen[0] == period else None,
                    float(free),
                    float(reserved),
                )
            )
        return found

    def _refusals(self) -> list[collectors.KeyRefusals]:
        found = [
            collectors.KeyRefusals(key.namespace, key.name, reason, count)
            for (key, reason), count in self._leases.stats.refused_keys.items()
        ]
        found.extend(
            collectors.KeyRefusals(namespace, name, "concurrent", count)
            for (namespace, name), count in self._in_flight.refused.items()
        )
        return found

    def _lease_stats(self) -> collectors.Leases:
        s = self._leases.stats
        return collectors.Leases(
            self._leases.ledger.open_reservations,
            s.admitted,
            s.admitted_unleased,
            s.waited,
            s.grants,
            s.store_failures,
            s.reclaimed,
        )

    def _providers(self, snap: snapshot.ConfigSnapshot) -> list[collectors.ProviderState]:
        now = self._clock()
        view = self._routing.health
        found = []
        for ref in snap.providers:
            h = view.get(routing_tables.provider_key(ref), health.UNKNOWN)
            latency = h.latency_ms / 1000 if h.latency_ms is not None else None
            found.append(
                collectors.ProviderState(ref.namespace, ref.name, health.state_at(h, now).value, h.error_rate, latency)
            )
        return found

    def _models(self, snap: snapshot.ConfigSnapshot) -> list[collectors.ModelState]:
        now = self._clock()
        view = self._routing.health
        found = []
        for ref, model in snap.models.items():
            h = view.get(routing_tables.provider_key(model.provider.ref), health.UNKNOWN)
            up = model.routable and health.available(h, now)
            found.append(collectors.ModelState(ref.namespace, ref.name, model.provider.ref.name, up))
        return found

    def _bandit(self, snap: snapshot.ConfigSnapshot) -> list[collectors.BanditArm]:
        found = []
        for namespace, arms in self._routing.bandits.items():
            for (model, bucket), stats in arms.items():
                if snapshot.Ref("Model", namespace, model) in snap.models:
                    mean = thompson.mean(stats, stats.at, 1.0)  # at its own time: no decay to apply
                    found.append(collectors.BanditArm(namespace, model, bucket.value, mean))
        return found
