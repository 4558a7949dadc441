"""The long-lived state of one gateway replica: configuration, readiness, metrics, background tasks.

Built by ``app.create_app`` and kept on ``app.state``; nothing here is module-level, so tests can run several
replicas in one process. Every background loop runs under the replica's one supervisor, and Postgres is reached
through one ``store.pool.Database``. Readiness is false before the first config load, while draining, and while
the served config revision has not been confirmed current for longer than ``config_stale_s``. Shutdown runs
every step even when an earlier one fails: a stopped stats exchange must not cost the log flush or the leases.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from gateway.accounting import backend, leases
from gateway.observability import metrics as metrics_mod
from gateway.observability import tracing as tracing_mod
from gateway.providers import base, session
from gateway.serving import anthropic_betas as anthropic_betas_mod
from gateway.serving import (
    calls,
    chat,
    config_source,
    count_flow,
    embeddings,
    idempotency_sweeper,
    logwriter,
    prober,
    responses_flow,
    routing_state,
    sharing,
    spool,
    stored_responses,
    supervisor,
    upstreams,
)
from gateway.store import health_repo, pool
from gateway.store import listener as listener_mod

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        database_url: str,
        vault_password: str | None,
        metrics: metrics_mod.Metrics,
        poll_interval_s: float,
        client_factory: session.ClientFactory = session.default_client,
        *,
        health_probes: bool = True,
        spool_path: pathlib.Path | None = None,
        lease_settings: leases.LeaseSettings | None = None,
        sharing_settings: sharing.SharingSettings | None = None,
        share_stats: bool = True,
        config_stale_s: float = 30.0,
        supervision: supervisor.Supervision | None = None,
        clock: Callable[[], float] = time.monotonic,
        anthropic_betas: anthropic_betas_mod.BetaPolicy | None = None,
        responses_settings: responses_flow.ResponsesSettings | None = None,
        upstream_max_body_bytes: int = base.MAX_BODY_BYTES,
        tracing: tracing_mod.Tracing | None = None,
    ) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self.db = pool.Database(database_url)
        self.supervisor = supervisor.Supervisor(supervision, on_failure=self._count_failure)
        self.config = config_source.ConfigHolder(self.db, vault_password, metrics, clock=clock)
        self.upstreams = upstreams.UpstreamPool(client_factory, max_body_bytes=upstream_max_body_bytes)
        self.config.subscribe(self.upstreams.sync)
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        sharing_settings = sharing_settings or sharing.SharingSettings()
        self.routing = routing_state.RoutingState(ewma_half_life_s=sharing_settings.ewma_half_life_s)
        self.config.subscribe(self.routing.sync)
        self.logs = logwriter.LogWriter(
            database_url, metrics, spool=spool.Spool(spool_path) if spool_path is not None else None
        )
        self.leases = leases.LeaseManager(
            backend.PgLeaseBackend(self.db),
            holder=self.replica,
            settings=lease_settings,
        )
        self.services = calls.Services(
            self.config,
            self.upstreams,
            self.routing,
            self.leases,
            self.logs,
            metrics,
            anthropic_betas or anthropic_betas_mod.BetaPolicy(),
        )
        self.chat = chat.ChatFlow(self.services)
        self.count_tokens = count_flow.CountFlow(self.services)
        self.embeddings = embeddings.EmbeddingsFlow(self.services)
        responses_settings = responses_settings or responses_flow.ResponsesSettings()
        self.stored_responses = stored_responses.ResponseStore(self.db, metrics, responses_settings.store)
        self.responses = responses_flow.ResponsesFlow(self.services, self.stored_responses, responses_settings)
        self.prober = prober.Prober(
            self.config, self.upstreams, self.routing, leadership=health_repo.ProbeLock(self.db)
        )
        self.sharing = sharing.Sharing(
            self.routing, sharing.PgSharedStore(self.db, sharing_settings), self.replica, sharing_settings
        )
        self.idempotency_sweeper = idempotency_sweeper.IdempotencySweeper(self.db)
        self._share_stats = share_stats
        self._health_probes = health_probes
        self._poll_interval_s = poll_interval_s
        self.config_stale_s = config_stale_s
        self.draining = False
        self.listener: listener_mod.RevisionListener | None = None
        self._followers: list[supervisor.Supervised] = []  # stopped first: config, probes, statistics
        self._lease_loops: list[supervisor.Supervised] = []
        metrics.ready.set_function(lambda: 1.0 if self.ready else 0.0)

    @property
    def health_probes(self) -> bool:
        """Whether this replica competes for the active health prober's lock."""
        return self._health_probes

    def _count_failure(self, task: str) -> None:
        self.metrics.child(self.metrics.background_task_failures, task).inc()

    def readiness(self) -> tuple[bool, str | None]:
        """Whether to take traffic, and if not, why (the reason ``/readyz`` shows)."""
        if self.draining:
            return False, "draining"
        snapshot = self.config.current
        if snapshot is None:
            return False, "no configuration loaded yet"
        age = self.config.age()
        if age is not None and age > self.config_stale_s:
            reason = (
                f"configuration may be stale: revision {snapshot.revision} was last confirmed current {age:.0f}s ago"
                f" (limit {self.config_stale_s:g}s)"
            )
            if self.config.last_error is not None:
                reason += f"; the last reload failed: {self.config.last_error}"
            elif self.listener is not None and not self.listener.connected.is_set():
                reason += "; the config listener cannot reach Postgres"
            return False, reason
        return True, None

    @property
    def ready(self) -> bool:
        return self.readiness()[0]

    def begin_drain(self) -> None:
        """Stop reporting ready; in-flight work continues until the server's drain timeout."""
        if not self.draining:
            log.info("draining: readiness is now false")
        self.draining = True

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            # Nothing was served: stop the loops already running and let go of the store, no flush to do.
            await self.supervisor.stop()
            await _step("closing upstream connections", self.upstreams.close)
            await self.db.close()
            raise

    async def _start(self) -> None:
        await self.db.open()
        self.logs.start(self.supervisor)
        self.stored_responses.start(self.supervisor)
        self._lease_loops = [
            self.supervisor.start("lease-refill", self.leases.run_refills),
            self.supervisor.start("lease-upkeep", self.leases.run_upkeep),
        ]
        snapshot = await self.config.reload()
        self.listener = listener_mod.RevisionListener(
            self.db,
            self.config.on_revision,
            known_revision=snapshot.revision,
            on_current=self.config.confirm,
            poll_interval=self._poll_interval_s,
        )
        self._followers.append(self.supervisor.start("config-listener", self.listener.run))
        self._followers.append(self.supervisor.start("idempotency-expiry", self.idempotency_sweeper.run))
        if self._health_probes:
            self._followers.append(self.supervisor.start("health-prober", self.prober.run))
        if self._share_stats:
            self._followers.append(self.supervisor.start("stats-sharing", self.sharing.run))
        for task in self.supervisor.loops:  # a zero per task, so that rate() and alerts see it before it fails
            self.metrics.child(self.metrics.background_task_failures, task)

    async def stop(self) -> None:
        """After the server stopped taking requests: stop following config, flush logs, hand back leases.

        Each step runs even if a background task died or an earlier step failed.
        """
        for handle in reversed(self._followers):
            await handle.stop()
        self._followers.clear()
        if self._share_stats:
            await _step("the last statistics exchange", self.sharing.flush)
        await _step("the request-log flush", self.logs.stop)
        await _step("the stored-responses flush", self.stored_responses.stop)
        for handle in self._lease_loops:
            await handle.stop()
        self._lease_loops.clear()
        # After the log flush: every charge is written before leases are handed back.
        await _step("handing back leases", self.leases.close)
        await self.supervisor.stop()
        await _step("closing upstream connections", self.upstreams.close)
        await self.db.close()
        if (spans := self.tracing) is not None:
            await _step("exporting the last spans", lambda: asyncio.to_thread(spans.shutdown))


async def _step(what: str, action: Callable[[], Awaitable[None]]) -> None:
    try:
        await action()
    except Exception:
        log.exception("shutdown: %s failed; carrying on with the next step", what)
