"""TokenHub's native ``POST /v1/chat``: routing hints and ``@@tokenhub`` directives, an explained answer.

The answer wraps the OpenAI-shaped completion with what TokenHub decided: the model and provider that answered,
the exact cost, and the routing decision (mode, score, runner-up, reason). Streams are OpenAI chunks.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import chat_endpoint, responses
from gateway.serving import calls, chat, native
from gateway.serving.dialects import ClientApi


def _parse(document: dict[str, Any], call: calls.Call) -> None:
    parsed = native.parse(document)
    call.body, call.hints = parsed.body, parsed.hints


def _envelope(call: calls.Call, completion: chat.Completion) -> Response:
    assert call.model is not None and call.route is not None
    body = {
        "negotiated_model": call.model.ref.name,
        "provider": call.model.provider.ref.name,
        "cost_usd": float(completion.cost_usd),
        "routing_reason": call.route.reason,
        "decision": call.route.header(),
        "response": orjson.loads(completion.body),
    }
    return responses.json(body, headers=completion.headers)


async def native_chat(request: Request) -> Response:
    return await chat_endpoint.handle(request, ClientApi.OPENAI, "chat", _parse, _envelope)


routes = [Route("/v1/chat", native_chat, methods=["POST"])]
