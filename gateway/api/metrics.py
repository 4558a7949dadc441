"""Prometheus exposition of this replica's registry: on the main app, or alone on ``TOKENHUB_METRICS_PORT``."""

from __future__ import annotations

import prometheus_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.serving import runtime as runtime_mod


async def metrics(request: Request) -> Response:
    runtime: runtime_mod.Runtime = request.app.state.runtime
    return Response(runtime.metrics.exposition(), media_type=prometheus_client.CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]


def metrics_app(runtime: runtime_mod.Runtime) -> Starlette:
    """An app serving only ``/metrics``; the runtime's lifecycle belongs to the main app."""
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
