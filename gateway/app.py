"""Build the ASGI application: ``create_app(settings, runtime)``; no module-level state, no import-time I/O."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import prometheus_client
from fastapi import FastAPI

import gateway
from gateway import settings as settings_mod
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
    )


def create_app(runtime: runtime_mod.Runtime, admin_token: str | None = None) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="TokenHub", version=gateway.__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.admin_token = admin_token
    app.state.services = runtime.services
    app.state.chat = runtime.chat
    app.state.embeddings = runtime.embeddings
    app.router.routes.extend([*openai.routes, *anthropic.routes, *native.routes, *admin.routes])
    app.add_middleware(idempotency.IdempotencyMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
