"""Anthropic-compatible ``POST /v1/messages`` and ``/v1/messages/count_tokens``: Anthropic format in, any provider
out, routed and metered.

Unlike a blind passthrough, a Messages request goes through the same planning, failover, usage and cost as every
other request; to an Anthropic provider it is forwarded as sent, with ``anthropic-version``, the ``anthropic-beta``
values ``TOKENHUB_ANTHROPIC_BETAS`` allows and the ``?beta=true`` query Claude Code adds; to an OpenAI-compatible
one it is translated both ways, streams included, and none of those pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import chat_endpoint
from gateway.providers.wire import anthropic_messages
from gateway.serving import calls, count_flow
from gateway.serving.dialects import ClientApi


def _parse(document: dict[str, Any], call: calls.Call) -> None:
    anthropic_messages.validate_request(document)
    call.body = document


def _parse_count(document: dict[str, Any], call: calls.Call) -> None:
    anthropic_messages.validate_request(document, count_only=True)
    call.body = document


def _pass_through(request: Request) -> Callable[[calls.Call], None]:
    """What of the client's request may reach an Anthropic upstream besides the body (``chat.passthrough``)."""

    def prepare(call: calls.Call) -> None:
        services: calls.Services = request.app.state.services
        headers = request.headers
        forwarded: list[tuple[str, str]] = []
        if "anthropic-version" in headers:
            forwarded.append(("anthropic-version", headers["anthropic-version"]))
        kept, dropped = services.anthropic_betas.split(headers.getlist("anthropic-beta"))
        if kept:
            forwarded.append(("anthropic-beta", kept))
        if dropped:
            call.dropped_betas = dropped
            services.metrics.anthropic_betas_dropped.inc(len(dropped))
        call.forward_headers = tuple(forwarded)
        if request.query_params.get("beta") == "true":
            call.forward_query = "?beta=true"

    return prepare


async def create_message(request: Request) -> Response:
    return await chat_endpoint.handle(request, ClientApi.ANTHROPIC, "messages", _parse, prepare=_pass_through(request))


async def count_message_tokens(request: Request) -> Response:
    flow: count_flow.CountFlow = request.app.state.count_tokens
    return await chat_endpoint.handle(
        request, ClientApi.ANTHROPIC, "messages.count_tokens", _parse_count, prepare=_pass_through(request), flow=flow
    )


routes = [
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_message_tokens, methods=["POST"]),
]
