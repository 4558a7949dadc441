"""Anthropic-compatible ``POST /v1/messages``: Anthropic format in, any provider out, routed and metered.

Unlike a blind passthrough, a Messages request goes through the same planning, failover, usage and cost as every
other request; to an Anthropic provider it is forwarded as sent (with ``anthropic-version``/``anthropic-beta``),
to an OpenAI-compatible one it is translated both ways, streams included.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import errors as api_errors
from gateway.api import inbound, responses
from gateway.providers.wire import anthropic_messages
from gateway.providers.wire import errors as wire_errors
from gateway.serving import calls, chat, errors
from gateway.serving.dialects import ClientApi

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def create_message(request: Request) -> Response:
    services: calls.Services = request.app.state.services
    call = calls.Call(ClientApi.ANTHROPIC, "messages", inbound.request_id(request))
    call.forward_headers = tuple(
        (name, request.headers[name]) for name in chat.FORWARDED_ANTHROPIC_HEADERS if name in request.headers
    )
    try:
        raw = await inbound.body(request)
        call.key = inbound.authenticate(request, services)
        try:
            call.body = anthropic_messages.parse_request(raw)
        except wire_errors.WireError as exc:
            raise api_errors.from_wire(exc) from exc
        call.stream = bool(call.body.get("stream"))
        flow: chat.ChatFlow = request.app.state.chat
        if call.stream:
            start = await flow.stream(call)
            return responses.EventStream(start.body, {**start.headers, **SSE_HEADERS})
        completion = await flow.complete(call)
        return Response(completion.body, media_type="application/json", headers=completion.headers)
    except errors.RequestFailed as exc:
        calls.finish(services, call, status=exc.status, error_class=type(exc).__name__, error_message=exc.message)
        return api_errors.render(ClientApi.ANTHROPIC, exc, call.headers())


routes = [Route("/v1/messages", create_message, methods=["POST"])]
