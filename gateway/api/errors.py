"""The one place where failures become HTTP responses, in the error shape of the API the client speaks.

OpenAI clients get ``{"error": {"message", "type", "param", "code"}}``; Anthropic clients get
``{"type": "error", "error": {"type", "message"}}`` with Anthropic's type names. The SDKs of both turn these into
their typed exceptions (``openai.NotFoundError``, ``anthropic.RateLimitError``...), so a caller handles a
TokenHub error exactly as one from the provider itself. A refusal is also the end of its request: ``refuse``
writes its one request-log row, with the failure's ``error_class``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.api import responses
from gateway.providers.wire import error_bodies
from gateway.providers.wire import errors as wire_errors
from gateway.serving import calls, errors
from gateway.serving.dialects import ClientApi

ANTHROPIC_PATHS = frozenset({"/v1/messages"})


def client_api(path: str) -> ClientApi:
    """The API whose error shape a request to ``path`` gets (model listings decide by header instead)."""
    return ClientApi.ANTHROPIC if path in ANTHROPIC_PATHS else ClientApi.OPENAI


def from_wire(exc: wire_errors.WireError) -> errors.InvalidRequest:
    return errors.InvalidRequest(
        exc.message if not exc.param else f"{exc.param}: {exc.message}", param=exc.param or None
    )


def body(api: ClientApi, exc: errors.RequestFailed) -> dict[str, Any]:
    if api is ClientApi.ANTHROPIC:
        return error_bodies.anthropic_body(exc.status, exc.message)
    return error_bodies.openai_body(exc.status, exc.message, param=exc.param, code=exc.code, error_type=exc.kind)


def encoded(api: ClientApi, exc: errors.RequestFailed) -> bytes:
    return orjson.dumps(body(api, exc))


def render(api: ClientApi, exc: errors.RequestFailed, headers: dict[str, str]) -> Response:
    return responses.json(body(api, exc), exc.status, {**headers, **exc.headers})


def refuse(services: calls.Services, call: calls.Call, exc: errors.RequestFailed) -> Response:
    """Log the refused request's one row and answer it in its client's shape."""
    calls.finish(services, call, status=exc.status, error_class=exc.error_class, error_message=exc.message)
    return render(call.api, exc, call.headers())


def _speaks_anthropic(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/v1/messages") or (path == "/v1/models" and "anthropic-version" in request.headers)


async def routing_refusal(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals - no such path, a method the path does not take - in the client's error shape."""
    assert isinstance(exc, HTTPException)
    status, path = exc.status_code, request.url.path
    if status == 404:
        message = f"no such endpoint: {path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {path}"
    else:
        message = exc.detail
    api = ClientApi.ANTHROPIC if _speaks_anthropic(request) else ClientApi.OPENAI
    payload = error_bodies.anthropic_body(status, message) if api is ClientApi.ANTHROPIC else None
    return responses.json(payload or error_bodies.openai_body(status, message), status, exc.headers)
