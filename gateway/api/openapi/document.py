"""Assemble the OpenAPI 3.1 document of the public model API from the request and response models.

pydantic renders each model as JSON Schema 2020-12, the dialect OpenAPI 3.1 uses, so the schemas go in as they
are, under ``components/schemas``. Refusals are documented per status range in each route's own error shape.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import json_schema

import gateway
from gateway.api.openapi import anthropic_schema, native_schema, openai_schema, responses_api_schema, responses_schema

JSON = "application/json"
REF = "#/components/schemas/{model}"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"


def _ref(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _untitled(node: Any, *, properties: bool = False) -> Any:
    """The schema without pydantic's ``title`` keywords (noise to a reader; a property may still be named so)."""
    if isinstance(node, dict):
        return {
            key: _untitled(value, properties=key == "properties" and not properties)
            for key, value in node.items()
            if properties or key != "title"
        }
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    return node


def schemas() -> dict[str, Any]:
    requests = (
        openai_schema.ChatCompletionRequest,
        openai_schema.EmbeddingsRequest,
        anthropic_schema.MessagesRequest,
        anthropic_schema.MessagesCountTokensRequest,
        anthropic_schema.MessagesTokenCount,
        native_schema.NativeChatRequest,
        responses_api_schema.ResponsesRequest,
    )
    wanted = [(model, "validation") for model in (*requests, *responses_schema.models())]
    _, top = json_schema.models_json_schema(wanted, ref_template=REF)  # type: ignore[arg-type]
    defs: dict[str, Any] = top["$defs"]
    return {name: _untitled(defs[name]) for name in sorted(defs)}


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema}


def _errors(error: type[pydantic.BaseModel]) -> dict[str, Any]:
    content = {JSON: {"schema": _ref(error)}}
    return {
        "4XX": {"description": "refused: the body names the field or the reason", "content": content},
        "5XX": {"description": "the gateway or every upstream failed", "content": content},
    }


def _model_call(
    summary: str,
    request: type[pydantic.BaseModel],
    success: dict[str, Any],
    error: type[pydantic.BaseModel],
    operation_id: str,
    extra_parameters: tuple[dict[str, Any], ...] = (),
    *,
    charged: bool = True,
) -> dict[str, Any]:
    idempotency = _header(
        "idempotency-key",
        "a retry with the same key gets the first answer instead of a second charged call",
        {"type": "string", "pattern": IDEMPOTENCY_KEY},
    )
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [
                _header("x-request-id", "reused as the request's id when it is a sane token", {"type": "string"}),
                *((idempotency,) if charged else ()),
                *extra_parameters,
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref(request)}}},
            "responses": {"200": success, **_errors(error)},
        }
    }


def _sse_event() -> dict[str, Any]:
    """One server-sent event (before OpenAPI 3.2, a stream's ``schema`` describes each of its events)."""
    return {
        "type": "object",
        "properties": {"event": {"type": "string"}, "data": {"type": "string", "description": "a JSON object"}},
        "required": ["data"],
    }


def _completion(description: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            JSON: {"schema": body or {"type": "object"}},
            "text/event-stream": {"schema": _sse_event()},
        },
    }


def paths() -> dict[str, Any]:
    openai_error, anthropic_error = responses_schema.OpenAIError, responses_schema.AnthropicError
    anthropic_headers = (
        _header("anthropic-version", "forwarded to Anthropic upstreams", {"type": "string"}),
        _header(
            "anthropic-beta",
            "forwarded to Anthropic upstreams, the values TOKENHUB_ANTHROPIC_BETAS allows (the others are named in"
            " the x-tokenhub-dropped-betas response header); never to other provider types",
            {"type": "string"},
        ),
        {
            "name": "beta",
            "in": "query",
            "required": False,
            "description": "forwarded to Anthropic upstreams (Claude Code sends beta=true)",
            "schema": {"type": "string"},
        },
    )
    return {
        "/v1/chat/completions": _model_call(
            "OpenAI Chat Completions, routed to any provider",
            openai_schema.ChatCompletionRequest,
            _completion("the completion (or its stream of chunks)"),
            openai_error,
            "createChatCompletion",
        ),
        "/v1/messages": _model_call(
            "Anthropic Messages, routed to any provider",
            anthropic_schema.MessagesRequest,
            _completion("the message (or its stream of events)"),
            anthropic_error,
            "createMessage",
            anthropic_headers,
        ),
        "/v1/messages/count_tokens": _model_call(
            "The input tokens of a Messages request: the Anthropic provider's own count when one would answer it"
            " (x-tokenhub-token-count: exact), else the gateway's estimate; never charged",
            anthropic_schema.MessagesCountTokensRequest,
            _json("the count", anthropic_schema.MessagesTokenCount),
            anthropic_error,
            "countMessageTokens",
            anthropic_headers,
            charged=False,
        ),
        "/v1/chat": _model_call(
            "TokenHub's native chat: routing hints in, the answer with its routing decision and cost out",
            native_schema.NativeChatRequest,
            _completion(
                "the wrapped completion (a stream is OpenAI chunks)", _ref(responses_schema.NativeChatResponse)
            ),
            openai_error,
            "createNativeChat",
        ),
        "/v1/embeddings": _model_call(
            "OpenAI embeddings",
            openai_schema.EmbeddingsRequest,
            {"description": "the embeddings", "content": {JSON: {"schema": {"type": "object"}}}},
            openai_error,
            "createEmbeddings",
        ),
        "/v1/responses": _model_call(
            "OpenAI Responses, routed to any provider (translated for Chat Completions and Anthropic upstreams)",
            responses_api_schema.ResponsesRequest,
            _completion("the response (or its stream of events)"),
            openai_error,
            "createResponse",
        ),
        "/v1/responses/{response_id}": _stored_response(openai_error),
        "/v1/responses/{response_id}/input_items": _input_items(openai_error),
        "/v1/models": {
            "get": {
                "operationId": "listModels",
                "summary": "The models this key may use; in Anthropic's shape when anthropic-version is sent",
                "security": [{"bearer": []}, {"apiKey": []}],
                "parameters": [anthropic_headers[0]],
                "responses": {
                    "200": {
                        "description": "the models and aliases",
                        "content": {
                            JSON: {
                                "schema": {
                                    "anyOf": [
                                        _ref(responses_schema.OpenAIModelList),
                                        _ref(responses_schema.AnthropicModelList),
                                    ]
                                }
                            }
                        },
                    },
                    "4XX": {
                        "description": "refused",
                        "content": {JSON: {"schema": {"anyOf": [_ref(openai_error), _ref(anthropic_error)]}}},
                    },
                },
            }
        },
        "/livez": _probe("livez", "200 while the process runs", {"200": _json("alive", responses_schema.Liveness)}),
        "/readyz": _probe(
            "readyz",
            "200 once a config snapshot is loaded and while not draining",
            {
                "200": _json("ready", responses_schema.Readiness),
                "503": _json("not ready, with the reason", responses_schema.Readiness),
            },
        ),
        "/openapi.json": _probe(
            "openapi",
            "this document",
            {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}}},
        ),
    }


def _stored_response(error: type[pydantic.BaseModel]) -> dict[str, Any]:
    """``GET`` and ``DELETE`` of a response stored by the same ApiKey (any other key's id is a 404)."""
    parameter = {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    return {
        "get": {
            "operationId": "getResponse",
            "summary": "A response this key stored (store not false), as it was answered",
            "security": security,
            "parameters": [parameter],
            "responses": {"200": _json("the stored response", responses_schema.StoredResponse), **_errors(error)},
        },
        "delete": {
            "operationId": "deleteResponse",
            "summary": "Forget a response this key stored",
            "security": security,
            "parameters": [parameter],
            "responses": {"200": _json("deleted", responses_schema.DeletedResponse), **_errors(error)},
        },
    }


def _input_items(error: type[pydantic.BaseModel]) -> dict[str, Any]:
    """``GET`` of the items a stored response answered, a page at a time."""
    parameters = [
        {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "order", "in": "query", "schema": {"enum": ["asc", "desc"], "default": "desc"}},
        {"name": "after", "in": "query", "schema": {"type": "string"}},
    ]
    return {
        "get": {
            "operationId": "listInputItems",
            "summary": "The input items of a response this key stored, earlier turns included",
            "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": parameters,
            "responses": {"200": _json("a page of input items", responses_schema.InputItemList), **_errors(error)},
        }
    }


def _json(description: str, model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(model)}}}


def _probe(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "security": [], "responses": responses}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TokenHub model API",
            "version": gateway.__version__,
            "description": (
                "OpenAI- and Anthropic-compatible endpoints and TokenHub's native chat. Refusals use each API's "
                "own error shape. Generated by `python -m gateway.api.openapi`; do not edit."
            ),
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "thk_<id>_<secret>"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }
