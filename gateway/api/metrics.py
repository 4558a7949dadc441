"""Prometheus exposition of this replica's registry."""

from __future__ import annotations

import prometheus_client
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.serving import runtime as runtime_mod


async def metrics(request: Request) -> Response:
    runtime: runtime_mod.Runtime = request.app.state.runtime
    return Response(runtime.metrics.exposition(), media_type=prometheus_client.CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics, methods=["GET"])]
