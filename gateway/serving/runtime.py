"""The long-lived state of one gateway replica: configuration, readiness, metrics, background tasks.

Built by ``app.create_app`` and kept on ``app.state``; nothing here is module-level, so tests can run several
replicas in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import secrets
import socket

from gateway.accounting import backend, leases
from gateway.observability import metrics as metrics_mod
from gateway.providers import base, session
from gateway.serving import (
    calls,
    chat,
    config_source,
    embeddings,
    logwriter,
    prober,
    routing_state,
    sharing,
    spool,
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
        upstream_max_body_bytes: int = base.MAX_BODY_BYTES,
    ) -> None:
        self.database_url = database_url
        self.metrics = metrics
        self.config = config_source.ConfigHolder(database_url, vault_password, metrics)
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
            backend.PgLeaseBackend(database_url),
            holder=self.replica,
            settings=lease_settings,
        )
        self.services = calls.Services(self.config, self.upstreams, self.routing, self.leases, self.logs, metrics)
        self.chat = chat.ChatFlow(self.services)
        self.embeddings = embeddings.EmbeddingsFlow(self.services)
        self.prober = prober.Prober(
            self.config, self.upstreams, self.routing, leadership=health_repo.ProbeLock(database_url)
        )
        self.db = pool.create(database_url)
        self.sharing = sharing.Sharing(
            self.routing, sharing.PgSharedStore(self.db, sharing_settings), self.replica, sharing_settings
        )
        self._share_stats = share_stats
        self._health_probes = health_probes
        self._poll_interval_s = poll_interval_s
        self.draining = False
        self._tasks: list[asyncio.Task[None]] = []
        self.listener: listener_mod.RevisionListener | None = None

    @property
    def ready(self) -> bool:
        return self.config.current is not None and not self.draining

    def begin_drain(self) -> None:
        """Stop reporting ready; in-flight work continues until the server's drain timeout."""
        if not self.draining:
            log.info("draining: readiness is now false")
        self.draining = True
        self.metrics.ready.set(0)

    async def start(self) -> None:
        await self.db.open()
        self.logs.start()
        self.leases.start()
        snapshot = await self.config.reload()
        self.listener = listener_mod.RevisionListener(
            self.database_url,
            self.config.on_revision,
            known_revision=snapshot.revision,
            poll_interval=self._poll_interval_s,
        )
        self._tasks.append(asyncio.create_task(self.listener.run(), name="config-listener"))
        if self._health_probes:
            self._tasks.append(asyncio.create_task(self.prober.run(), name="health-prober"))
        if self._share_stats:
            self._tasks.append(asyncio.create_task(self.sharing.run(), name="stats-sharing"))
        self.metrics.ready.set(1)

    async def stop(self) -> None:
        """After the server stopped taking requests: stop following config, flush logs, close upstreams."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._share_stats:
            await self.sharing.flush()  # what this replica learnt since the last exchange is not lost
        await self.logs.stop()
        await self.leases.close()  # after the log flush: every charge is written before leases are handed back
        await self.upstreams.close()
        await self.db.close()
