"""Build the ASGI application: ``create_app(runtime)``; no module-level state, no import-time I/O.

A plain Starlette application (every route a raw endpoint: FastAPI's dependency machinery, response models and
per-request receive wrapping would only cost time on the hot path), with the model endpoints dispatched ahead of
it by exact method and path (`Gateway`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import prometheus_client
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

import gateway
from gateway import settings as settings_mod
from gateway.accounting import leases
from gateway.api import admin, anthropic, health, idempotency, inbound, metrics, native, openai, openapi, responses_api
from gateway.api import errors as api_errors
from gateway.observability import collectors, tracing
from gateway.observability import metrics as metrics_mod
from gateway.serving import (
    admission,
    anthropic_betas,
    calls,
    errors,
    metric_source,
    responses_flow,
    stored_responses,
    supervisor,
)
from gateway.serving import runtime as runtime_mod

log = logging.getLogger(__name__)


def create_runtime(
    settings: settings_mod.Settings,
    database_url: str,
    vault_password: str | None,
    supervision: supervisor.Supervision | None = None,
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
        config_stale_s=settings.config_stale_s,
        supervision=supervision,
        anthropic_betas=anthropic_betas.BetaPolicy.of(settings.anthropic_betas),
        responses_settings=responses_flow.ResponsesSettings(
            droppable_tools=settings.responses_drop_tools,
            store=stored_responses.StoreSettings(retention=dt.timedelta(seconds=settings.responses_retention_s)),
        ),
        upstream_max_body_bytes=settings.upstream_max_body_bytes,
        tracing=tracing.Tracing(settings.tracing, version=gateway.__version__) if settings.tracing else None,
    )


Endpoint = Callable[[Request], Awaitable[Response]]
HOT_ROUTES: tuple[tuple[str, str, Endpoint], ...] = (
    ("POST", "/v1/chat/completions", openai.chat_completions),
    ("POST", "/v1/messages", anthropic.create_message),
    ("POST", "/v1/messages/count_tokens", anthropic.count_message_tokens),
    ("POST", "/v1/chat", native.native_chat),
    ("POST", "/v1/embeddings", openai.create_embeddings),
    ("POST", "/v1/responses", responses_api.create_response),
)


class Gateway:
    """The model endpoints by exact method and path; everything else (and lifespan) through Starlette.

    Starlette wraps every ``send`` of a response in three exception-handling layers and matches routes by regex;
    a streamed answer sends once per chunk, so on the model endpoints that bookkeeping was a measurable share of the
    CPU per request. Those endpoints handle their own errors; anything unexpected still becomes a 500. Here too
    is the process's cap on requests in flight on those endpoints (streams included): beyond it a request is
    answered 503 with ``Retry-After`` at once, before its body is read, rather than queued.
    """

    def __init__(
        self,
        app: Starlette,
        hot: tuple[tuple[str, str, Endpoint], ...],
        limits: inbound.Limits | None = None,
        spans: tracing.Tracing | None = None,
    ) -> None:
        self.app = app
        self.state = app.state
        self.limits = limits or inbound.Limits()
        self.in_flight = 0
        self._hot = {(method, path): endpoint for method, path, endpoint in hot}
        self._hot_app: ASGIApp = idempotency.IdempotencyMiddleware(self._dispatch)
        if spans is not None:  # tracing off: not even a check per request
            self._hot_app = spans.middleware(self._hot_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self._hot:
            scope["app"] = self.app
            if self.in_flight >= self.limits.max_concurrent_requests:
                await self._overloaded(scope, receive, send)
                return
            self.in_flight += 1
            try:
                await self._hot_app(scope, receive, send)
            finally:
                self.in_flight -= 1
        else:
            await self.app(scope, receive, send)

    async def _overloaded(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self.limits.max_concurrent_requests
        failure = errors.Overloaded(
            f"this gateway replica is at its limit of {cap} requests in flight; retry shortly", retry_after=1
        )
        response = api_errors.refuse(self.state.services, inbound.call_for(scope), failure)
        await response(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._hot[(scope["method"], scope["path"])]
        try:
            response = await endpoint(Request(scope, receive, send))
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            failure = errors.RequestFailed("internal error; the gateway's log has the details")
            response = api_errors.render(api_errors.client_api(scope["path"]), failure, {})
        await response(scope, receive, send)

    def cut(self, reason: str, path: str, failure: errors.RequestFailed | None) -> bytes:
        """A connection cut before its request reached an endpoint (``http_protocol``): counted, and - when its
        head named a model endpoint - logged as that request's one row; returns the body of the answer."""
        services: calls.Services = self.state.services
        services.metrics.child(services.metrics.inbound_cut, reason).inc()
        if failure is None:
            return b""
        api = api_errors.client_api(path)
        endpoint = inbound.ENDPOINTS.get(path)
        if endpoint is not None:
            call = calls.Call(api, endpoint, inbound.new_request_id())
            calls.finish(
                services, call, status=failure.status, error_class=failure.error_class, error_message=failure.message
            )
        return api_errors.encoded(api, failure)


def create_app(
    runtime: runtime_mod.Runtime,
    admin_token: str | None = None,
    limits: inbound.Limits | None = None,
    *,
    serve_metrics: bool = True,
) -> Gateway:
    """The gateway's app; ``serve_metrics=False`` leaves ``/metrics`` to ``metrics.metrics_app`` on its own port."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[
            *openai.routes,
            *responses_api.routes,
            *anthropic.routes,
            *native.routes,
            *admin.routes,
            *health.routes,
            *(metrics.routes if serve_metrics else ()),
            *openapi.routes,
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: api_errors.routing_refusal},
    )
    app.state.version = gateway.__version__
    app.state.runtime = runtime
    app.state.admin_token = admin_token
    app.state.services = runtime.services
    app.state.chat = runtime.chat
    app.state.count_tokens = runtime.count_tokens
    app.state.embeddings = runtime.embeddings
    app.state.responses = runtime.responses
    hot = Gateway(app, HOT_ROUTES, limits, runtime.tracing)
    app.state.bodies = inbound.BodyReader(hot.limits, runtime.metrics)
    app.state.in_flight = admission.InFlight()
    runtime.metrics.requests_in_flight.set_function(lambda: hot.in_flight)
    source = metric_source.RuntimeSource(
        runtime.config,
        runtime.leases,
        runtime.routing,
        runtime.logs,
        runtime.db,
        app.state.in_flight,
        listener=lambda: runtime.listener,
        health_prober=runtime.prober if runtime.health_probes else None,
    )
    runtime.metrics.registry.register(collectors.StateCollector(source))
    return hot
