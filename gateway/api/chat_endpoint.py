"""The one HTTP shell around a chat request, shared by /v1/chat/completions, /v1/messages and /v1/chat.

Each endpoint only says how to read its parsed body; the order of the checks before any work is done happens
here: the key (before a byte of the body is read), the key's concurrency slot, the body (bounded in size and
time), its JSON (UTF-8, nesting). Streaming or not, a refusal is answered in its API's error shape, always with
exactly one request-log row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.api import errors as api_errors
from gateway.api import inbound, responses
from gateway.providers.wire import errors as wire_errors
from gateway.serving import admission, calls, chat, errors
from gateway.serving.dialects import ClientApi

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

Parse = Callable[[dict[str, Any], calls.Call], None]
"""Validates the body's JSON object and sets ``call.body`` (and ``call.hints``); raises ``RequestFailed`` or
``WireError``."""

Wrap = Callable[[calls.Call, chat.Completion], Response]


def plain(call: calls.Call, completion: chat.Completion) -> Response:
    return Response(completion.body, media_type="application/json", headers=completion.headers)


def internal_error(services: calls.Services, call: calls.Call, exc: Exception) -> None:
    """Log the row of a request that a bug ended (the bug itself is logged, and answered 500, by the app)."""
    message = f"unexpected {type(exc).__name__}; the gateway's log has the details"
    calls.finish(services, call, status=500, error_class=errors.INTERNAL, error_message=message)


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
    state = request.app.state
    services: calls.Services = state.services
    call = calls.Call(api, endpoint, inbound.request_id(request))
    if prepare is not None:
        prepare(call)
    slot: admission.Slot | None = None
    try:
        call.key = inbound.authenticate(request, services)
        in_flight: admission.InFlight = state.in_flight
        slot = in_flight.acquire(call.key)
        document = inbound.json_object(await inbound.body(request))
        try:
            parse(document, call)
        except wire_errors.WireError as exc:
            raise api_errors.from_wire(exc) from exc
        assert call.body is not None
        call.stream = bool(call.body.get("stream"))
        flow = flow or state.chat
        if call.stream:
            start = await flow.stream(call)
            release = slot.release if slot is not None else None
            slot = None  # the stream holds it until it ends
            headers = {**start.headers, **SSE_HEADERS}
            return responses.EventStream(start.body, headers, watch=start.waits, on_close=release)
        return wrap(call, await flow.complete(call))
    except errors.RequestFailed as exc:
        return api_errors.refuse(services, call, exc)
    except Exception as exc:
        internal_error(services, call, exc)
        raise
    finally:
        if slot is not None:
            slot.release()
