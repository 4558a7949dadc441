"""What the public endpoints answer: the two error shapes, and the successful bodies the gateway itself writes.

Completions and embeddings come from the upstream (translated when the APIs differ), so they are described only
as objects; the error shapes, the model lists, the native envelope and the probes are the gateway's own.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from gateway.api.openapi import base


class OpenAIErrorDetail(base.Open):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(base.Open):
    """A refusal on the OpenAI routes and ``/v1/chat``; the OpenAI SDKs raise their typed errors from it."""

    error: OpenAIErrorDetail


class AnthropicErrorDetail(base.Open):
    type: str
    message: str


class AnthropicError(base.Open):
    """A refusal on ``/v1/messages`` (and ``/v1/models`` asked with ``anthropic-version``)."""

    type: Literal["error"]
    error: AnthropicErrorDetail


Capability = Literal["chat", "tools", "json", "vision", "embeddings"]


class OpenAIModel(base.Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str = pydantic.Field(description="the Provider that serves it")
    context_window: int
    max_output_tokens: int | None = pydantic.Field(description="the Model's output limit; null when it sets none")
    capabilities: list[Capability]


class OpenAIModelList(base.Open):
    object: Literal["list"]
    data: list[OpenAIModel]


class AnthropicCapability(base.Open):
    supported: bool


class AnthropicModelCapabilities(base.Open):
    """The capabilities a Model states; Anthropic's others are left out (unknown, not unsupported)."""

    image_input: AnthropicCapability
    structured_outputs: AnthropicCapability


class AnthropicModel(base.Open):
    type: Literal["model"]
    id: str
    display_name: str
    created_at: str
    lifecycle: Literal["active"]
    max_input_tokens: int = pydantic.Field(description="the Model's context window")
    max_tokens: int | None = pydantic.Field(description="the Model's output limit; null when it sets none")
    capabilities: AnthropicModelCapabilities


class AnthropicModelList(base.Open):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


class NativeChatResponse(base.Open):
    """The OpenAI completion, wrapped with what the gateway decided and what it cost."""

    negotiated_model: str
    provider: str
    cost_usd: float
    routing_reason: str
    decision: str
    response: dict[str, Any]


class Liveness(base.Open):
    status: Literal["ok"]


class Readiness(base.Open):
    status: Literal["ready", "not ready"]
    draining: bool
    config_revision: int | None
    routable_models: int
    reason: str | None = None


class StoredResponse(base.Open):
    """A Response object as ``POST /v1/responses`` answered it."""

    id: str
    object: Literal["response"]


class DeletedResponse(base.Open):
    id: str
    object: Literal["response"]
    deleted: Literal[True]


class InputItem(base.Open):
    """An item a stored response answered: a message, a function call or its output, a reasoning item, ..."""

    id: str
    type: str


class InputItemList(base.Open):
    object: Literal["list"]
    data: list[InputItem]
    first_id: str | None
    last_id: str | None
    has_more: bool


def models() -> tuple[type[pydantic.BaseModel], ...]:
    return (
        StoredResponse,
        DeletedResponse,
        InputItem,
        InputItemList,
        OpenAIError,
        AnthropicError,
        OpenAIModelList,
        AnthropicModelList,
        NativeChatResponse,
        Liveness,
        Readiness,
    )
