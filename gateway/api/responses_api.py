"""OpenAI's Responses API: ``POST /v1/responses``; ``GET`` / ``DELETE /v1/responses/{id}`` and
``GET /v1/responses/{id}/input_items`` for stored ones.

The POST goes through the same HTTP shell as the chat endpoints (``chat_endpoint``) with the Responses flow;
GET and DELETE read the ApiKey's own stored responses only (any other key's id is a 404) and, like every
request, each write one request-log row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import chat_endpoint, inbound
from gateway.api import errors as api_errors
from gateway.providers.wire import openai_responses
from gateway.serving import calls, errors, input_items, responses_flow
from gateway.serving.dialects import ClientApi


def _parse(document: dict[str, Any], call: calls.Call) -> None:
    openai_responses.validate_request(document)
    call.body = document


async def create_response(request: Request) -> Response:
    flow: responses_flow.ResponsesFlow = request.app.state.responses
    return await chat_endpoint.handle(request, ClientApi.OPENAI, "responses", _parse, flow=flow)


Action = Callable[[responses_flow.ResponsesFlow, calls.Call, Request], Awaitable[bytes]]


async def _by_id(request: Request, endpoint: str, action: Action) -> Response:
    services: calls.Services = request.app.state.services
    flow: responses_flow.ResponsesFlow = request.app.state.responses
    call = calls.Call(ClientApi.OPENAI, endpoint, inbound.request_id(request))
    try:
        call.key = inbound.authenticate(request, services)
        body = await action(flow, call, request)
    except errors.RequestFailed as exc:
        return api_errors.refuse(services, call, exc)
    except Exception as exc:
        chat_endpoint.internal_error(services, call, exc)
        raise
    calls.finish(services, call, status=200)
    return Response(body, media_type="application/json", headers={"x-tokenhub-request-id": call.request_id})


def _response_id(request: Request) -> str:
    return str(request.path_params["response_id"])


async def _retrieve(flow: responses_flow.ResponsesFlow, call: calls.Call, request: Request) -> bytes:
    return (await flow.find(call, _response_id(request))).response


async def _input_items(flow: responses_flow.ResponsesFlow, call: calls.Call, request: Request) -> bytes:
    query = input_items.parse_query(request.query_params)
    stored = await flow.find(call, _response_id(request))
    return orjson.dumps(input_items.page(orjson.loads(stored.conversation), stored.id, query))


async def _delete(flow: responses_flow.ResponsesFlow, call: calls.Call, request: Request) -> bytes:
    await flow.delete(call, _response_id(request))
    return orjson.dumps({"id": _response_id(request), "object": "response", "deleted": True})


async def retrieve_response(request: Request) -> Response:
    return await _by_id(request, "responses.retrieve", _retrieve)


async def list_input_items(request: Request) -> Response:
    return await _by_id(request, "responses.input_items", _input_items)


async def delete_response(request: Request) -> Response:
    return await _by_id(request, "responses.delete", _delete)


routes = [
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/responses/{response_id}", retrieve_response, methods=["GET"]),
    Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    Route("/v1/responses/{response_id}/input_items", list_input_items, methods=["GET"]),
]
