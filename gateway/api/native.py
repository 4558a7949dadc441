"""TokenHub's native ``POST /v1/chat``: routing hints and ``@@tokenhub`` directives, an explained answer.

The answer wraps the OpenAI-shaped completion with what TokenHub decided: the model and provider that answered,
the exact cost, and the routing decision (mode, score, runner-up, reason). Streams are OpenAI chunks.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.api import errors as api_errors
from gateway.api import inbound, responses
from gateway.serving import calls, chat, errors, native
from gateway.serving.dialects import ClientApi

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def native_chat(request: Request) -> Response:
    services: calls.Services = request.app.state.services
    call = calls.Call(ClientApi.OPENAI, "chat", inbound.request_id(request))
    try:
        raw = await inbound.body(request)
        call.key = inbound.authenticate(request, services)
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.InvalidRequest(f"the body is not valid JSON: {exc}") from exc
        parsed = native.parse(payload)
        call.body, call.hints = parsed.body, parsed.hints
        call.stream = bool(parsed.body.get("stream"))
        flow: chat.ChatFlow = request.app.state.chat
        if call.stream:
            start = await flow.stream(call)
            return StreamingResponse(
                start.body, media_type="text/event-stream", headers={**start.headers, **SSE_HEADERS}
            )
        completion = await flow.complete(call)
    except errors.RequestFailed as exc:
        calls.finish(services, call, status=exc.status, error_class=type(exc).__name__, error_message=exc.message)
        return api_errors.render(ClientApi.OPENAI, exc, call.headers())
    assert call.model is not None and call.route is not None
    envelope = {
        "negotiated_model": call.model.ref.name,
        "provider": call.model.provider.ref.name,
        "cost_usd": float(completion.cost_usd),
        "routing_reason": call.route.reason,
        "decision": call.route.header(),
        "response": orjson.loads(completion.body),
    }
    return responses.json(envelope, headers=completion.headers)


routes = [Route("/v1/chat", native_chat, methods=["POST"])]
