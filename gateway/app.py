"""Build the ASGI application: ``create_app(runtime)``; no module-level state, no import-time I/O.

A plain Starlette application: every route is a raw endpoint, so FastAPI's dependency machinery, response models
and per-request receive wrapping would only cost time on the hot path (about a quarter of the event loop's samples
in ``bench/`` profiles went to the framework stack).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import prometheus_client
from starlette.applications import Starlette
from starlette.middleware import Middleware

import gateway
from gateway import settings as settings_mod
from gateway.accounting import leases
from gateway.api import admin, anthropic, health, idempotency, metrics, native, openai
from gateway.observability import metrics as metrics_mod
from gateway.serving import runtime as runtime_mod


def create_runtime(
    settings: settings_mod.Settings, database_url: str, vault_password: str | None
) -> runtime_mod.Runtime:
    registry = prometheus_client.CollectorRegistry(auto_describe=True)
    return runtime_mod.Runtime(
        database_url,
        vault_password,
        metrics_mod.Metrics(registry),
        settings.config_poll_interval_s,
        health_probes=settings.health_probes,
        spool_path=settings.data_dir / "spool" / "request-logs.jsonl",
        lease_settings=leases.LeaseSettings(fail_open=settings.budget_fail_open),
    )


def create_app(runtime: runtime_mod.Runtime, admin_token: str | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[*openai.routes, *anthropic.routes, *native.routes, *admin.routes, *health.routes, *metrics.routes],
        middleware=[Middleware(idempotency.IdempotencyMiddleware)],
        lifespan=lifespan,
    )
    app.state.version = gateway.__version__
    app.state.runtime = runtime
    app.state.admin_token = admin_token
    app.state.services = runtime.services
    app.state.chat = runtime.chat
    app.state.embeddings = runtime.embeddings
    return app
