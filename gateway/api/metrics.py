"""Prometheus exposition of this replica's registry."""

from __future__ import annotations

import prometheus_client
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.serving import runtime as runtime_mod

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    runtime: runtime_mod.Runtime = request.app.state.runtime
    return Response(runtime.metrics.exposition(), media_type=prometheus_client.CONTENT_TYPE_LATEST)
