"""Run one gateway process: database (embedded or given), migrations (``TOKENHUB_MIGRATE``), optional folder apply,
HTTP server, drain.

Shutdown on SIGTERM/SIGINT: readiness turns false at once, new connections are still accepted for
``drain_delay_s`` (so a load balancer can notice), then the listener closes, in-flight requests and streams get
up to ``drain_timeout_s`` to finish, background work flushes, and the process exits 0. uvicorn's own handler would
re-raise the signal after a clean shutdown and turn a clean exit into "killed by SIGTERM", and would skip the flush
on a second signal; ours does neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Generator

import uvicorn

from gateway import app as app_mod
from gateway import settings as settings_mod
from gateway import standalone
from gateway.api import http_protocol, inbound, metrics
from gateway.serving import runtime as runtime_mod
from gateway.store import embedded, migrate

log = logging.getLogger(__name__)
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this long (uvicorn's default, made explicit)


class DrainingServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        runtime: runtime_mod.Runtime,
        drain_delay_s: float,
        side: uvicorn.Server | None = None,
    ) -> None:
        super().__init__(config)
        self._runtime = runtime
        self._drain_delay_s = drain_delay_s
        self._side = side  # the metrics listener, when /metrics has a port of its own
        self._side_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets)
        finally:
            if self._side is not None and self._side_task is not None:
                self._side.should_exit = True
                await self._side_task

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._side is not None and self.started:
            self._side_task = asyncio.create_task(self._side.serve(), name="metrics-listener")
        # What startup built (modules, the config snapshot, pools) lives as long as the process: taken out of the
        # cyclic collector's generations, it is not traversed again by every full collection under load.
        gc.collect()
        gc.freeze()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        if self._runtime.draining:
            # A repeated signal must not skip the flush of queued log rows and charges; the drain timeout bounds
            # how long shutdown can take.
            log.warning("already draining; in-flight work has up to %ss", self.config.timeout_graceful_shutdown)
            return
        self._runtime.begin_drain()
        asyncio.get_running_loop().call_later(self._drain_delay_s, setattr, self, "should_exit", True)


class SideServer(uvicorn.Server):
    """A second listener (``/metrics`` on its own port): signals stay with the main server, which stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def metrics_server(runtime: runtime_mod.Runtime, settings: settings_mod.Settings) -> SideServer | None:
    if settings.metrics_port is None:
        return None
    config = uvicorn.Config(
        metrics.metrics_app(runtime),
        host=settings.host,
        port=settings.metrics_port,
        loop="uvloop",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return SideServer(config)


def uvicorn_config(app: app_mod.Gateway, settings: settings_mod.Settings) -> uvicorn.Config:
    """uvicorn with uvloop and httptools, our connection protocol (a deadline and a cap on request heads), no
    access log (the request log is ours). Its ``limit_concurrency`` stays off: it answers in plain text and counts
    idle keep-alive connections; the gateway's own cap answers in the client's API shape."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=http_protocol.protocol_class(app.limits, app.cut),
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=int(settings.drain_timeout_s),
    )


async def serve(settings: settings_mod.Settings) -> int:
    pg = None
    url = settings.database_url
    if url is None:
        pg = embedded.start(settings.data_dir)
        url = pg.url
        log.info("using the embedded Postgres in %s", settings.data_dir)
    try:
        await migrate.ensure(url, "auto" if pg is not None else settings.migrate)
        password = standalone.existing_vault_password(settings)
        if settings.config_path is not None:
            password = standalone.vault_password(settings)
            report = await standalone.apply_path(url, settings.config_path, settings, prune=True)
            log.info("applied %s: %s", settings.config_path, report.result.changes.summary())
            for line in report.unresolved:
                log.warning("%s", line)
        runtime = app_mod.create_runtime(settings, url, password)
        app = app_mod.create_app(
            runtime, settings.admin_token, inbound.Limits.of(settings), serve_metrics=settings.metrics_port is None
        )
        side = metrics_server(runtime, settings)
        server = DrainingServer(uvicorn_config(app, settings), runtime, settings.drain_delay_s, side)
        await server.serve()
        return 0
    finally:
        if pg is not None:
            pg.stop()
