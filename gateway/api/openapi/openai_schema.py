"""The OpenAI request bodies the gateway accepts, as models: ``POST /v1/chat/completions`` and ``/v1/embeddings``.

They describe what ``providers.wire.openai_chat`` and ``serving.embeddings`` accept; tests send schema-valid
bodies through those validators and schema-invalid ones at a running gateway. Two rules span messages and cannot
be written in JSON Schema: each ``tool_call`` of an assistant message is answered by a ``tool`` message, and
``tool_choice`` names a given tool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from gateway.api.openapi import base
from gateway.providers.wire import openai_chat

TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"
NonEmpty = Annotated[str, pydantic.Field(min_length=1)]


class ChatTextPart(base.Open):
    type: Literal["text"]
    text: str


class ChatImageUrl(base.Open):
    url: NonEmpty
    detail: Literal["auto", "low", "high"] | None = None


class ChatImagePart(base.Open):
    type: Literal["image_url"]
    image_url: ChatImageUrl


class ChatInputAudio(base.Open):
    data: str
    format: str


class ChatAudioPart(base.Open):
    type: Literal["input_audio"]
    input_audio: ChatInputAudio


class ChatFile(base.Open):
    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "anyOf": [base.present("file_data", base.not_null()), base.present("file_id", base.not_null())]
        }
    )
    file_data: Any = None
    file_id: Any = None


class ChatFilePart(base.Open):
    type: Literal["file"]
    file: ChatFile


class ChatRefusalPart(base.Open):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[ChatTextPart | ChatImagePart | ChatAudioPart | ChatFilePart, pydantic.Field(discriminator="type")]
AssistantPart = Annotated[ChatTextPart | ChatRefusalPart, pydantic.Field(discriminator="type")]
TextContent = str | Annotated[list[ChatTextPart], pydantic.Field(min_length=1)]


class ChatSystemMessage(base.Open):
    role: Literal["system", "developer"]
    content: TextContent
    name: str | None = None


class ChatUserMessage(base.Open):
    role: Literal["user"]
    content: str | Annotated[list[UserPart], pydantic.Field(min_length=1)]
    name: str | None = None


class ChatFunctionCall(base.Open):
    name: NonEmpty
    arguments: str


class ChatToolCall(base.Open):
    id: NonEmpty
    type: Literal["function"] = "function"
    function: ChatFunctionCall


class ChatAssistantMessage(base.Open):
    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "description": "needs content, tool_calls or refusal",
            "anyOf": [
                base.present("content", base.not_null()),
                base.present("tool_calls", {"type": "array", "minItems": 1}),
                base.present("refusal", base.not_null()),
            ],
        }
    )
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    tool_calls: list[ChatToolCall] | None = None
    refusal: str | None = None
    name: str | None = None


class ChatToolMessage(base.Open):
    role: Literal["tool"]
    tool_call_id: str = pydantic.Field(description="answers a tool_call of the preceding assistant message")
    content: TextContent
    name: str | None = None


ChatMessage = Annotated[
    ChatSystemMessage | ChatUserMessage | ChatAssistantMessage | ChatToolMessage, pydantic.Field(discriminator="role")
]


class ChatFunction(base.Open):
    name: str = pydantic.Field(pattern=TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ChatCustomTool(base.Open):
    name: str = pydantic.Field(pattern=TOOL_NAME)
    description: str | None = None


class ChatFunctionTool(base.Open):
    type: Literal["function"]
    function: ChatFunction


class ChatCustomToolDef(base.Open):
    type: Literal["custom"]
    custom: ChatCustomTool


class ChatNamedFunction(base.Open):
    name: str = pydantic.Field(description="one of the tools' names")


class ChatNamedToolChoice(base.Open):
    type: Literal["function"]
    function: ChatNamedFunction


class ChatStreamOptions(base.Open):
    include_usage: bool | None = None


class ChatJsonSchema(base.Open):
    name: str


class ChatTextFormat(base.Open):
    type: Literal["text"]


class ChatJsonObjectFormat(base.Open):
    type: Literal["json_object"]


class ChatJsonSchemaFormat(base.Open):
    type: Literal["json_schema"]
    json_schema: ChatJsonSchema


ResponseFormat = Annotated[
    ChatTextFormat | ChatJsonObjectFormat | ChatJsonSchemaFormat, pydantic.Field(discriminator="type")
]
Tool = Annotated[ChatFunctionTool | ChatCustomToolDef, pydantic.Field(discriminator="type")]


def stream_options_need_stream() -> dict[str, Any]:
    return {
        "if": base.present("stream_options", base.not_null()),
        "then": base.present("stream", {"const": True}),
    }


def _rules() -> list[dict[str, Any]]:
    """The rules between parameters: ``if`` one is set, ``then`` another must be."""
    return [
        {
            "if": base.present("top_logprobs", base.not_null()),
            "then": base.present("logprobs", {"const": True}),
        },
        {
            "if": base.present("tool_choice", base.not_null()),
            "then": base.present("tools", {"type": "array", "minItems": 1}),
        },
    ]


class ChatParameters(base.Open):
    """Everything of a Chat Completions request but its model, messages and stream flag."""

    model_config = pydantic.ConfigDict(json_schema_extra={"allOf": list(_rules())})
    max_tokens: base.PositiveInt | None = None
    max_completion_tokens: base.PositiveInt | None = None
    n: Annotated[int, pydantic.Field(ge=1, le=1, description="only n=1 is supported")] | None = None
    temperature: Annotated[float, pydantic.Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    presence_penalty: Annotated[float, pydantic.Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, pydantic.Field(ge=-2, le=2)] | None = None
    seed: base.Int | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, pydantic.Field(ge=0, le=20)] | None = None
    stop: str | Annotated[list[str], pydantic.Field(max_length=openai_chat.MAX_STOP_SEQUENCES)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ChatNamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stream_options: ChatStreamOptions | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None


class ChatCompletionRequest(ChatParameters):
    """An OpenAI Chat Completions request; fields not listed here go upstream as sent."""

    model_config = pydantic.ConfigDict(json_schema_extra={"allOf": [*_rules(), stream_options_need_stream()]})

    model: NonEmpty = pydantic.Field(description="a model name or alias, or 'auto' to let the gateway route")
    messages: Annotated[list[ChatMessage], pydantic.Field(min_length=1)]
    stream: bool | None = None


class EmbeddingsRequest(base.Open):
    """An OpenAI embeddings request; fields not listed here go upstream as sent."""

    model: NonEmpty
    input: str | Annotated[list[Any], pydantic.Field(min_length=1)]
