"""Liveness and readiness, kept apart on purpose.

``/livez`` answers 200 while the process runs: restarting a pod never fixes missing configuration, so liveness
must not depend on it (the older system's combined health check crash-looped fresh installs). ``/readyz``
answers 200 only once a config snapshot is loaded, while the replica is not draining, and while its config
revision was confirmed current within ``TOKENHUB_CONFIG_STALE_SECONDS``; a 503 says why in ``reason``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import responses
from gateway.serving import runtime as runtime_mod


async def livez(request: Request) -> Response:
    return responses.json({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: runtime_mod.Runtime = request.app.state.runtime
    ready, reason = runtime.readiness()
    snapshot = runtime.config.current
    age = runtime.config.age()
    body = {
        "status": "ready" if ready else "not ready",
        "draining": runtime.draining,
        "config_revision": snapshot.revision if snapshot else None,
        "config_age_seconds": round(age, 3) if age is not None else None,
        "routable_models": snapshot.routable_models if snapshot else 0,
    }
    if reason is not None:
        body["reason"] = reason
    return responses.json(body, 200 if ready else 503)


routes = [Route("/livez", livez, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
