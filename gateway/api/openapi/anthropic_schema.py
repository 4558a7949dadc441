"""The Anthropic Messages request the gateway accepts (``POST /v1/messages``), as models.

They describe what ``providers.wire.anthropic_messages`` accepts; tests check them against that validator. Three of
its rules depend on a message's place in the conversation and cannot be written in JSON Schema: only the final
assistant message may be empty (and may not end in whitespace), each ``tool_use`` is answered by a
``tool_result`` in the next turn, and ``tool_choice`` names a given tool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from gateway.api.openapi import base
from gateway.providers.wire import checks

NonEmpty = Annotated[str, pydantic.Field(min_length=1)]
ImageMediaType = Literal["image/gif", "image/jpeg", "image/png", "image/webp"]


class MessagesBase64Source(base.Open):
    type: Literal["base64"]
    media_type: ImageMediaType
    data: NonEmpty


class MessagesUrlSource(base.Open):
    type: Literal["url"]
    url: NonEmpty


class MessagesFileSource(base.Open):
    type: Literal["file"]
    file_id: NonEmpty


ImageSource = Annotated[
    MessagesBase64Source | MessagesUrlSource | MessagesFileSource, pydantic.Field(discriminator="type")
]


class MessagesTextBlock(base.Open):
    type: Literal["text"]
    text: NonEmpty


class MessagesImageBlock(base.Open):
    type: Literal["image"]
    source: ImageSource


class MessagesDocumentBlock(base.Open):
    type: Literal["document"]
    source: dict[str, Any]


class MessagesToolUseBlock(base.Open):
    type: Literal["tool_use"]
    id: str = pydantic.Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: NonEmpty
    input: dict[str, Any]


class MessagesResultText(base.Open):
    type: Literal["text"]
    text: str


ResultPart = Annotated[MessagesResultText | MessagesImageBlock, pydantic.Field(discriminator="type")]


class MessagesToolResultBlock(base.Open):
    type: Literal["tool_result"]
    tool_use_id: str = pydantic.Field(min_length=1, description="answers a tool_use of the previous assistant turn")
    content: str | list[ResultPart] | None = None
    is_error: bool | None = None


class MessagesThinkingBlock(base.Open):
    type: Literal["thinking"]
    thinking: str
    signature: str


class MessagesRedactedThinkingBlock(base.Open):
    type: Literal["redacted_thinking"]
    data: str


UserBlock = Annotated[
    MessagesTextBlock | MessagesImageBlock | MessagesDocumentBlock | MessagesToolResultBlock,
    pydantic.Field(discriminator="type"),
]
AssistantBlock = Annotated[
    MessagesTextBlock
    | MessagesImageBlock
    | MessagesDocumentBlock
    | MessagesToolUseBlock
    | MessagesThinkingBlock
    | MessagesRedactedThinkingBlock,
    pydantic.Field(discriminator="type"),
]


class MessagesUserMessage(base.Open):
    role: Literal["user"]
    content: NonEmpty | Annotated[list[UserBlock], pydantic.Field(min_length=1)]


class MessagesAssistantMessage(base.Open):
    role: Literal["assistant"]
    content: str | list[AssistantBlock] = pydantic.Field(
        description="empty only in the final message (a prefill), which may not end in whitespace"
    )


Message = Annotated[MessagesUserMessage | MessagesAssistantMessage, pydantic.Field(discriminator="role")]


class MessagesSystemBlock(base.Open):
    type: Literal["text"]
    text: str


class MessagesMetadata(base.Open):
    user_id: str | None = None


class MessagesThinkingEnabled(base.Open):
    type: Literal["enabled"]
    budget_tokens: Annotated[int, pydantic.Field(ge=1024, le=checks.INT_MAX)]


class MessagesThinkingDisabled(base.Open):
    type: Literal["disabled"]


Thinking = Annotated[MessagesThinkingEnabled | MessagesThinkingDisabled, pydantic.Field(discriminator="type")]
TOOL_NAME = r"^[A-Za-z0-9_-]{1,128}$"


class MessagesInputSchema(base.Open):
    type: Literal["object"]


class MessagesClientTool(base.Open):
    name: str = pydantic.Field(pattern=TOOL_NAME)
    type: Literal["custom"] | None = None
    input_schema: MessagesInputSchema
    description: str | None = None


class MessagesServerTool(base.Open):
    """One of Anthropic's own tools or toolsets (``web_search_20250305``...; some have no name), passed on as sent."""

    name: str | None = None
    type: str = pydantic.Field(min_length=1, json_schema_extra={"not": {"const": "custom"}})


class MessagesToolChoice(base.Open):
    type: Literal["auto", "any", "none"]
    disable_parallel_tool_use: bool | None = None


class MessagesNamedToolChoice(base.Open):
    type: Literal["tool"]
    name: str = pydantic.Field(description="one of the tools' names")
    disable_parallel_tool_use: bool | None = None


ToolChoice = Annotated[MessagesToolChoice | MessagesNamedToolChoice, pydantic.Field(discriminator="type")]


class MessagesRequest(base.Open):
    """An Anthropic Messages request; fields not listed here go upstream as sent."""

    model: NonEmpty
    max_tokens: base.PositiveInt
    messages: Annotated[list[Message], pydantic.Field(min_length=1)]
    system: str | list[MessagesSystemBlock] | None = None
    temperature: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    top_p: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    top_k: base.NonNegativeInt | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    metadata: MessagesMetadata | None = None
    thinking: Thinking | None = None
    tools: list[MessagesClientTool | MessagesServerTool] | None = None
    tool_choice: ToolChoice | None = None
