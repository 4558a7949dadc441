"""The admin API (``/admin/v1``), behind a bearer admin token compared in constant time.

Without ``TOKENHUB_ADMIN_TOKEN`` the admin API is disabled (403), never open. ``POST /routing/simulate`` shows
what the routing engine would decide - the ranked list with per-term scores, the rejections with reasons - without
sending anything to a provider.
"""

from __future__ import annotations

import hmac
import math
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import responses
from gateway.routing import errors as routing_errors
from gateway.routing import modes
from gateway.routing import request as requests
from gateway.serving import routing_state


def _refusal(request: Request) -> Response | None:
    expected: str | None = request.app.state.admin_token
    if not expected:
        return responses.json({"error": "the admin API is disabled: set TOKENHUB_ADMIN_TOKEN"}, 403)
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return responses.json({"error": "invalid or missing admin token"}, 401, {"www-authenticate": "Bearer"})
    return None


def _bad(message: str) -> Response:
    return responses.json({"error": message}, 400)


def _optional_number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)


def _route_request(body: dict[str, Any]) -> requests.RouteRequest:
    mode = body.get("mode")
    capabilities = body.get("capabilities") or ["chat"]
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise ValueError("capabilities must be an array of strings")
    latency = _optional_number(body, "max_latency_ms")
    weight = _optional_number(body, "min_weight")
    return requests.RouteRequest(
        model=str(body.get("model") or ""),
        mode=modes.Mode(mode) if mode else None,
        max_budget_usd=_optional_number(body, "max_budget_usd"),
        max_latency_ms=int(latency) if latency is not None else None,
        min_weight=int(weight) if weight is not None else None,
        capabilities=frozenset(capabilities),
        input_tokens=int(_optional_number(body, "input_tokens") or 500),
        max_output_tokens=int(_optional_number(body, "max_output_tokens") or 512),
        policy=body.get("policy"),
        request_id="simulate",
    )


async def simulate(request: Request) -> Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    try:
        body = orjson.loads(await request.body())
        if not isinstance(body, dict):
            return _bad("the body must be a JSON object")
        req = _route_request(body)
    except orjson.JSONDecodeError as exc:
        return _bad(f"the body is not valid JSON: {exc}")
    except ValueError as exc:
        return _bad(str(exc))
    state: routing_state.RoutingState = request.app.state.runtime.routing
    try:
        decided = state.simulate(str(body.get("namespace") or "default"), req)
    except routing_errors.UnknownModel as exc:
        return responses.json({"error": str(exc)}, 404)
    except routing_errors.UnknownPolicy as exc:
        return responses.json({"error": str(exc)}, 404)
    return responses.json(decided.to_json())


routes = [Route("/admin/v1/routing/simulate", simulate, methods=["POST"])]
