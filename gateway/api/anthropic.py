"""Anthropic-compatible ``POST /v1/messages``: Anthropic format in, any provider out, routed and metered.

Unlike a blind passthrough, a Messages request goes through the same planning, failover, usage and cost as every
other request; to an Anthropic provider it is forwarded as sent (with ``anthropic-version``/``anthropic-beta``),
to an OpenAI-compatible one it is translated both ways, streams included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import chat_endpoint
from gateway.providers.wire import anthropic_messages
from gateway.serving import calls, chat
from gateway.serving.dialects import ClientApi


def _parse(document: dict[str, Any], call: calls.Call) -> None:
    anthropic_messages.validate_request(document)
    call.body = document


def _forward_headers(request: Request) -> Callable[[calls.Call], None]:
    def prepare(call: calls.Call) -> None:
        call.forward_headers = tuple(
            (name, request.headers[name]) for name in chat.FORWARDED_ANTHROPIC_HEADERS if name in request.headers
        )

    return prepare


async def create_message(request: Request) -> Response:
    return await chat_endpoint.handle(
        request, ClientApi.ANTHROPIC, "messages", _parse, prepare=_forward_headers(request)
    )


routes = [Route("/v1/messages", create_message, methods=["POST"])]
