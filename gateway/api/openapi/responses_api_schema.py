"""The OpenAI Responses request the gateway accepts (``POST /v1/responses``), as models.

They describe what ``providers.wire.openai_responses`` accepts; tests check them against that validator. Items
and tools of types the validator does not know pass as they are (a native upstream may know them). Two rules
span the request and cannot be written in JSON Schema: each call in ``input`` is answered by its output (an
output may answer a call of the previous response when ``previous_response_id`` is set), and a named
``tool_choice`` names one of ``tools``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from gateway.api.openapi import base
from gateway.providers.wire import checks, openai_responses

NonEmpty = Annotated[str, pydantic.Field(min_length=1)]
TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"
KNOWN_ITEMS = (
    "message",
    "function_call",
    "custom_tool_call",
    "function_call_output",
    "custom_tool_call_output",
    "reasoning",
    "item_reference",
)


def _other(known: tuple[str, ...]) -> Any:
    """A ``type`` string other than ``known``: a kind the gateway passes on unchecked."""
    return pydantic.Field(json_schema_extra={"not": {"enum": list(known)}})


class ResponsesTextPart(base.Open):
    type: Literal["input_text", "output_text"]
    text: str


class ResponsesRefusalPart(base.Open):
    type: Literal["refusal"]
    refusal: str


class ResponsesImagePart(base.Open):
    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "description": "needs image_url or file_id",
            "anyOf": [base.present("image_url", base.not_null()), base.present("file_id", base.not_null())],
        }
    )
    type: Literal["input_image"]
    image_url: NonEmpty | None = None
    file_id: NonEmpty | None = None
    detail: Literal["auto", "low", "high", "original"] | None = None


class ResponsesFilePart(base.Open):
    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "description": "needs file_data, file_id or file_url",
            "anyOf": [base.present(key, base.not_null()) for key in ("file_data", "file_id", "file_url")],
        }
    )
    type: Literal["input_file"]
    file_data: NonEmpty | None = None
    file_id: NonEmpty | None = None
    file_url: NonEmpty | None = None
    filename: str | None = None


class ResponsesInputTextPart(base.Open):
    type: Literal["input_text"]
    text: str


InputPart = Annotated[
    ResponsesInputTextPart | ResponsesImagePart | ResponsesFilePart, pydantic.Field(discriminator="type")
]
AssistantPart = ResponsesTextPart | ResponsesRefusalPart


class ResponsesMessage(base.Open):
    """A message; ``type`` may be left out."""

    type: Literal["message"] | None = None
    role: Literal["user", "system", "developer"]
    content: str | list[InputPart]


class ResponsesAssistantMessage(base.Open):
    type: Literal["message"] | None = None
    role: Literal["assistant"]
    content: str | list[AssistantPart]


class ResponsesFunctionCall(base.Open):
    type: Literal["function_call"]
    call_id: NonEmpty
    name: NonEmpty
    arguments: str
    namespace: str | None = None


class ResponsesCustomToolCall(base.Open):
    type: Literal["custom_tool_call"]
    call_id: NonEmpty
    name: NonEmpty
    input: str


class ResponsesCallOutput(base.Open):
    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: NonEmpty = pydantic.Field(description="answers a call before it, or of the previous response")
    output: str | list[InputPart]


class ResponsesSummaryText(base.Open):
    type: Literal["summary_text"]
    text: str


class ResponsesReasoningText(base.Open):
    type: Literal["reasoning_text"]
    text: str


class ResponsesReasoning(base.Open):
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[ResponsesSummaryText]
    content: list[ResponsesReasoningText] | None = None
    encrypted_content: str | None = None


class ResponsesItemReference(base.Open):
    type: Literal["item_reference"]
    id: NonEmpty


class ResponsesOtherItem(base.Open):
    """An item of another kind (a built-in tool's call or output), passed on as sent."""

    type: str = _other(KNOWN_ITEMS)


Item = (
    ResponsesMessage
    | ResponsesAssistantMessage
    | ResponsesFunctionCall
    | ResponsesCustomToolCall
    | ResponsesCallOutput
    | ResponsesReasoning
    | ResponsesItemReference
    | ResponsesOtherItem
)


class ResponsesFunctionTool(base.Open):
    type: Literal["function"]
    name: str = pydantic.Field(pattern=TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ResponsesCustomFormat(base.Open):
    type: str


class ResponsesCustomTool(base.Open):
    type: Literal["custom"]
    name: str = pydantic.Field(pattern=TOOL_NAME)
    description: str | None = None
    format: ResponsesCustomFormat | None = None


class ResponsesNamespaceTool(base.Open):
    """Tools grouped under one name; the model calls them with the call's ``namespace`` set."""

    type: Literal["namespace"]
    name: NonEmpty
    tools: list[Annotated[ResponsesFunctionTool | ResponsesCustomTool, pydantic.Field(discriminator="type")]]


class ResponsesBuiltinTool(base.Open):
    """A tool OpenAI runs (``web_search``, ``file_search``...): only a native Responses upstream takes it."""

    type: str = _other(tuple(sorted(openai_responses.CLIENT_TOOL_TYPES)))


Tool = ResponsesFunctionTool | ResponsesCustomTool | ResponsesNamespaceTool | ResponsesBuiltinTool


class ResponsesNamedToolChoice(base.Open):
    type: Literal["function", "custom"]
    name: str = pydantic.Field(description="one of the tools' names")


class ResponsesAllowedTool(base.Open):
    type: str


class ResponsesAllowedTools(base.Open):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: Annotated[list[ResponsesAllowedTool], pydantic.Field(min_length=1)]


class ResponsesBuiltinToolChoice(base.Open):
    type: str = _other(("function", "custom", "allowed_tools"))


ToolChoice = (
    Literal["none", "auto", "required"] | ResponsesNamedToolChoice | ResponsesAllowedTools | ResponsesBuiltinToolChoice
)


Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Summary = Literal["auto", "concise", "detailed"]


class ResponsesReasoningConfig(base.Open):
    effort: Effort | None = None
    summary: Summary | None = None
    generate_summary: Summary | None = None


class ResponsesPlainFormat(base.Open):
    type: Literal["text", "json_object"]


class ResponsesJsonSchemaFormat(base.Open):
    type: Literal["json_schema"]
    name: str = pydantic.Field(pattern=TOOL_NAME)
    schema_: dict[str, Any] = pydantic.Field(alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponsesTextConfig(base.Open):
    verbosity: Literal["low", "medium", "high"] | None = None
    format: Annotated[ResponsesPlainFormat | ResponsesJsonSchemaFormat, pydantic.Field(discriminator="type")] | None = (
        None
    )


Metadata = Annotated[
    dict[str, Annotated[str, pydantic.Field(max_length=512)]],
    pydantic.Field(
        max_length=openai_responses.MAX_METADATA_PAIRS, json_schema_extra={"propertyNames": {"maxLength": 64}}
    ),
]


def _rules() -> list[dict[str, Any]]:
    """The rules between parameters."""
    return [
        {
            "not": {
                "allOf": [
                    base.present("previous_response_id", base.not_null()),
                    base.present("conversation", base.not_null()),
                ]
            },
        },
        {"if": base.present("stream_options", base.not_null()), "then": base.present("stream", {"const": True})},
    ]


class ResponsesRequest(base.Open):
    """An OpenAI Responses request; fields not listed here go to a native upstream as sent."""

    model_config = pydantic.ConfigDict(json_schema_extra={"allOf": list(_rules())})

    model: NonEmpty = pydantic.Field(description="a model name or alias, or 'auto' to let the gateway route")
    input: str | list[Item] | None = None
    instructions: str | None = None
    previous_response_id: NonEmpty | None = pydantic.Field(
        default=None, description="continue a response stored by this key (store not false)"
    )
    store: bool | None = pydantic.Field(default=None, description="keep the response (default true)")
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    background: bool | None = None
    parallel_tool_calls: bool | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    reasoning: ResponsesReasoningConfig | None = None
    text: ResponsesTextConfig | None = None
    max_output_tokens: (
        Annotated[int, pydantic.Field(ge=openai_responses.MIN_OUTPUT_TOKENS, le=checks.INT_MAX)] | None
    ) = None
    max_tool_calls: base.PositiveInt | None = None
    temperature: Annotated[float, pydantic.Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, pydantic.Field(ge=0, le=20)] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    include: list[str] | None = None
    metadata: Metadata | None = None
    user: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
