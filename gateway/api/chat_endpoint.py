"""The one HTTP shell around a chat request, shared by /v1/chat/completions, /v1/messages and /v1/chat.

Each endpoint only says how to parse its body; reading it (bounded), authenticating, streaming or not, and turning
a refusal into its API's error shape - always with exactly one request-log row - happen here.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from gateway.api import errors as api_errors
from gateway.api import inbound, responses
from gateway.providers.wire import errors as wire_errors
from gateway.serving import calls, chat, errors
from gateway.serving.dialects import ClientApi

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

Parse = Callable[[bytes, calls.Call], None]
"""Validates the raw body and sets ``call.body`` (and ``call.hints``); raises ``RequestFailed`` or ``WireError``."""

Wrap = Callable[[calls.Call, chat.Completion], Response]


def plain(call: calls.Call, completion: chat.Completion) -> Response:
    return Response(completion.body, media_type="application/json", headers=completion.headers)


async def handle(
    request: Request,
    api: ClientApi,
    endpoint: str,
    parse: Parse,
    wrap: Wrap = plain,
    *,
    prepare: Callable[[calls.Call], None] | None = None,
    flow: chat.ChatFlow | None = None,
) -> Response:
    services: calls.Services = request.app.state.services
    call = calls.Call(api, endpoint, inbound.request_id(request))
    if prepare is not None:
        prepare(call)
    try:
        raw = await inbound.body(request)
        call.key = inbound.authenticate(request, services)
        try:
            parse(raw, call)
        except wire_errors.WireError as exc:
            raise api_errors.from_wire(exc) from exc
        assert call.body is not None
        call.stream = bool(call.body.get("stream"))
        flow = flow or request.app.state.chat
        if call.stream:
            start = await flow.stream(call)
            return responses.EventStream(start.body, {**start.headers, **SSE_HEADERS}, watch=start.waits)
        completion = await flow.complete(call)
    except errors.RequestFailed as exc:
        calls.finish(services, call, status=exc.status, error_class=type(exc).__name__, error_message=exc.message)
        return api_errors.render(api, exc, call.headers())
    return wrap(call, completion)
