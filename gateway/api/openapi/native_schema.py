"""TokenHub's native chat request (``POST /v1/chat``), as models: an OpenAI chat request plus routing hints.

``serving.native`` reads the envelope and the policy, then the OpenAI rules apply to the messages and parameters
it assembles (after ``@@tokenhub`` directives are stripped), so the inner parts reuse the OpenAI models.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from gateway.api.openapi import base, openai_schema

Mode = Literal["cheap", "normal", "high_confidence", "planning", "thompson"]


class NativePolicy(base.Closed):
    """Routing hints; they can narrow what the key's RoutingPolicy allows, never widen it."""

    mode: Mode | None = None
    max_budget_usd: Annotated[float, pydantic.Field(ge=0, le=100)] | None = None
    max_latency_ms: Annotated[int, pydantic.Field(ge=1, le=3_600_000)] | None = None
    min_weight: Annotated[int, pydantic.Field(ge=0, le=10)] | None = None


class NativeRequestBody(base.Open):
    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": base.present("parameters", base.present("stream_options", base.not_null())),
                    "then": base.present("stream", {"const": True}),
                }
            ]
        }
    )
    messages: Annotated[list[openai_schema.ChatMessage], pydantic.Field(min_length=1)]
    model_hint: str | None = pydantic.Field(
        default=None, description="a model name or alias; an ``@@tokenhub model=`` directive overrides it"
    )
    parameters: openai_schema.ChatParameters | None = None
    stream: bool | None = None


class NativeChatRequest(base.Open):
    request: NativeRequestBody
    policy: NativePolicy | None = None
