"""OpenAI-compatible endpoints: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``.

Routes are plain Starlette endpoints (no FastAPI dependency injection or response models on the hot path); the
request lifecycle lives in ``serving``; this module only reads HTTP and writes HTTP.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api import chat_endpoint, inbound, responses
from gateway.api import errors as api_errors
from gateway.config import specs
from gateway.providers.wire import openai_chat
from gateway.serving import admission, calls, embeddings, errors
from gateway.serving.dialects import ClientApi


def _parse_chat(document: dict[str, Any], call: calls.Call) -> None:
    openai_chat.validate_request(document)
    call.body = document


async def chat_completions(request: Request) -> Response:
    return await chat_endpoint.handle(request, ClientApi.OPENAI, "chat.completions", _parse_chat)


async def create_embeddings(request: Request) -> Response:
    state = request.app.state
    services: calls.Services = state.services
    call = calls.Call(ClientApi.OPENAI, "embeddings", inbound.request_id(request))
    slot: admission.Slot | None = None
    try:
        call.key = inbound.authenticate(request, services)
        in_flight: admission.InFlight = state.in_flight
        slot = in_flight.acquire(call.key)
        document = inbound.json_object(await inbound.body(request))
        embeddings.validate(document)
        call.body = document
        flow: embeddings.EmbeddingsFlow = state.embeddings
        completion = await flow.create(call)
        return Response(completion.body, media_type="application/json", headers=completion.headers)
    except errors.RequestFailed as exc:
        return api_errors.refuse(services, call, exc)
    except Exception as exc:
        chat_endpoint.internal_error(services, call, exc)
        raise
    finally:
        if slot is not None:
            slot.release()


async def list_models(request: Request) -> Response:
    """The models (and aliases) this key may use, in OpenAI's or - for Anthropic clients - Anthropic's shape.

    Logged like every other request (one row, no model, no cost), refusals included.
    """
    services: calls.Services = request.app.state.services
    anthropic_client = "anthropic-version" in request.headers
    api = ClientApi.ANTHROPIC if anthropic_client else ClientApi.OPENAI
    call = calls.Call(api, "models", inbound.request_id(request))
    try:
        key = call.key = inbound.authenticate(request, services)
        if specs.Scope.MODELS not in key.spec.scopes and specs.Scope.CHAT not in key.spec.scopes:
            raise errors.Forbidden("this API key lacks the 'models' scope")
    except errors.RequestFailed as exc:
        return api_errors.refuse(services, call, exc)
    snap = services.snapshot()
    names = sorted(
        (name, entries[0])
        for (ns, name), entries in snap.model_names.items()
        if ns == key.namespace and key.allows_model(entries[0].ref.name) and any(e.spec.enabled for e in entries)
    )
    if anthropic_client:
        data = [
            {"type": "model", "id": name, "display_name": name, "created_at": "1970-01-01T00:00:00Z"}
            for name, _ in names
        ]
        body = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    else:
        body = {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": entry.provider.ref.name,
                    "context_window": entry.spec.context_window,
                }
                for name, entry in names
            ],
        }
    calls.finish(services, call, status=200)
    return responses.json(body, headers={"x-tokenhub-request-id": call.request_id})


routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/embeddings", create_embeddings, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
]
