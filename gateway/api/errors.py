"""The one place where failures become HTTP responses, in the error shape of the API the client speaks.

OpenAI clients get ``{"error": {"message", "type", "param", "code"}}``; Anthropic clients get
``{"type": "error", "error": {"type", "message"}}`` with Anthropic's type names. The SDKs of both turn these into
their typed exceptions (``openai.NotFoundError``, ``anthropic.RateLimitError``...), so a caller handles a
TokenHub error exactly as one from the provider itself.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.api import responses
from gateway.providers.wire import error_bodies
from gateway.providers.wire import errors as wire_errors
from gateway.serving import errors
from gateway.serving.dialects import ClientApi


def from_wire(exc: wire_errors.WireError) -> errors.InvalidRequest:
    return errors.InvalidRequest(
        exc.message if not exc.param else f"{exc.param}: {exc.message}", param=exc.param or None
    )


def render(api: ClientApi, exc: errors.RequestFailed, headers: dict[str, str]) -> Response:
    all_headers = {**headers, **exc.headers}
    if api is ClientApi.ANTHROPIC:
        body = error_bodies.anthropic_body(exc.status, exc.message)
    else:
        body = error_bodies.openai_body(exc.status, exc.message, param=exc.param, code=exc.code, error_type=exc.kind)
    return responses.json(body, exc.status, all_headers)


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
    if _speaks_anthropic(request):
        body = error_bodies.anthropic_body(status, message)
    else:
        body = error_bodies.openai_body(status, message)
    return responses.json(body, status, exc.headers)
