"""The Anthropic Messages requests the gateway accepts (``POST /v1/messages`` and ``/v1/messages/count_tokens``),
as models.

They describe what ``providers.wire.anthropic_messages`` accepts, as clients send it today (Claude Code's system
messages mid-conversation, adaptive thinking, ``output_config``, ``context_management``, ``cache_control``, block
and tool types only Anthropic knows); tests check them against that validator. Four of its rules depend on a
message's place in the conversation or on other items and cannot be written in JSON Schema: only the final
assistant message may be empty (and may not end in whitespace), each ``tool_use`` is answered by a
``tool_result`` in the next turn, tool names are unique, and ``tool_choice`` names one of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from gateway.api.openapi import base
from gateway.providers.wire import anthropic_messages, checks

NonEmpty = Annotated[str, pydantic.Field(min_length=1)]
ImageMediaType = Literal["image/gif", "image/jpeg", "image/png", "image/webp"]
Effort = Literal["low", "medium", "high", "xhigh", "max"]
TOOL_NAME = r"^[A-Za-z0-9_-]{1,128}$"


def _other_type(*known: str) -> Any:
    """A block ``type`` the validator leaves to Anthropic: any non-empty string but the ones it checks."""
    return pydantic.Field(min_length=1, json_schema_extra={"not": {"enum": list(known)}})


class MessagesCacheControl(base.Open):
    """A prompt-cache breakpoint; Anthropic bills what it caches at the Model's cache prices."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class _Cacheable(base.Open):
    cache_control: MessagesCacheControl | None = None


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


class MessagesTextBlock(_Cacheable):
    type: Literal["text"]
    text: NonEmpty


class MessagesImageBlock(_Cacheable):
    type: Literal["image"]
    source: ImageSource


class MessagesDocumentBlock(_Cacheable):
    type: Literal["document"]
    source: dict[str, Any]


class MessagesToolUseBlock(_Cacheable):
    type: Literal["tool_use"]
    id: str = pydantic.Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: NonEmpty
    input: dict[str, Any]


class MessagesResultText(_Cacheable):
    type: Literal["text"]
    text: str


class MessagesResultOther(_Cacheable):
    """``document``, ``search_result``, ``tool_reference``... inside a tool result, passed on as sent."""

    type: str = _other_type("text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking")


ResultPart = MessagesResultText | MessagesImageBlock | MessagesResultOther


class MessagesToolResultBlock(_Cacheable):
    type: Literal["tool_result"]
    tool_use_id: str = pydantic.Field(min_length=1, description="answers a tool_use of the previous assistant turn")
    content: str | list[ResultPart] | None = None
    is_error: bool | None = None


class MessagesThinkingBlock(_Cacheable):
    """Sent back as received: ``thinking`` is empty when the request asked ``display: omitted``."""

    type: Literal["thinking"]
    thinking: str
    signature: str


class MessagesRedactedThinkingBlock(_Cacheable):
    type: Literal["redacted_thinking"]
    data: str


class MessagesOtherBlock(_Cacheable):
    """Server tool use and results, search results, beta blocks: passed on for Anthropic to judge (an OpenAI-type
    provider refuses them, naming the block)."""

    type: str = _other_type(*anthropic_messages.BLOCK_TYPES)


UserBlock = (
    MessagesTextBlock | MessagesImageBlock | MessagesDocumentBlock | MessagesToolResultBlock | MessagesOtherBlock
)
AssistantBlock = (
    MessagesTextBlock
    | MessagesImageBlock
    | MessagesDocumentBlock
    | MessagesToolUseBlock
    | MessagesThinkingBlock
    | MessagesRedactedThinkingBlock
    | MessagesOtherBlock
)


class MessagesUserMessage(base.Open):
    role: Literal["user"]
    content: NonEmpty | Annotated[list[UserBlock], pydantic.Field(min_length=1)]


class MessagesAssistantMessage(base.Open):
    role: Literal["assistant"]
    content: str | list[AssistantBlock] = pydantic.Field(
        description="empty only in the final message (a prefill), which may not end in whitespace"
    )


class MessagesSystemText(_Cacheable):
    type: Literal["text"]
    text: NonEmpty


class MessagesSystemOther(_Cacheable):
    """Beta blocks of a system message (``tool_addition``, ``tool_removal``)."""

    type: str = _other_type("text")


class MessagesMessageOutputConfig(base.Open):
    effort: Effort | None = None
    format: None = pydantic.Field(default=None, description="set for the whole request only")


class MessagesSystemMessage(base.Open):
    """Instructions in place, anywhere in the conversation (Claude Code sends its reminders so); it takes no part
    in the turns around it."""

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "anyOf": [base.present("content", base.not_null()), base.present("output_config", base.not_null())]
        }
    )

    role: Literal["system"]
    content: (
        NonEmpty | Annotated[list[MessagesSystemText | MessagesSystemOther], pydantic.Field(min_length=1)] | None
    ) = None
    output_config: MessagesMessageOutputConfig | None = None
    clear_at: Literal["next_user_message", "never"] | None = None


Message = Annotated[
    MessagesUserMessage | MessagesAssistantMessage | MessagesSystemMessage, pydantic.Field(discriminator="role")
]
Messages = Annotated[
    list[Message],
    pydantic.Field(
        min_length=1,
        json_schema_extra={"contains": base.present("role", {"enum": ["user", "assistant"]})},
        description="system messages may stand anywhere, but not alone",
    ),
]


class MessagesSystemBlock(_Cacheable):
    type: Literal["text"]
    text: str


class MessagesMetadata(base.Open):
    user_id: str | None = None


class _ThinkingDisplay(base.Open):
    display: NonEmpty | None = pydantic.Field(default=None, description="summarized, omitted, or newer under betas")


class MessagesThinkingEnabled(_ThinkingDisplay):
    type: Literal["enabled"]
    budget_tokens: Annotated[int, pydantic.Field(ge=anthropic_messages.MIN_THINKING_BUDGET, le=checks.INT_MAX)]


class MessagesThinkingAdaptive(_ThinkingDisplay):
    type: Literal["adaptive"]


class MessagesThinkingBetweenTools(_ThinkingDisplay):
    type: Literal["between_tools"]


class MessagesThinkingDisabled(_ThinkingDisplay):
    type: Literal["disabled"]


Thinking = Annotated[
    MessagesThinkingEnabled | MessagesThinkingAdaptive | MessagesThinkingBetweenTools | MessagesThinkingDisabled,
    pydantic.Field(discriminator="type"),
]


class MessagesOutputFormat(base.Open):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = pydantic.Field(alias="schema")


class MessagesOutputConfig(base.Open):
    effort: Effort | None = None
    format: MessagesOutputFormat | None = None


class MessagesContextEdit(base.Open):
    type: NonEmpty = pydantic.Field(description="e.g. clear_thinking_20251015, clear_tool_uses_20250919")


class MessagesContextManagement(base.Open):
    edits: list[MessagesContextEdit] | None = None


class MessagesInputSchema(base.Open):
    type: Literal["object"]


class _ToolFlags(_Cacheable):
    defer_loading: bool | None = None
    strict: bool | None = None


class MessagesClientTool(_ToolFlags):
    name: str = pydantic.Field(pattern=TOOL_NAME)
    type: Literal["custom"] | None = None
    input_schema: MessagesInputSchema
    description: str | None = None


class MessagesServerTool(_ToolFlags):
    """One of Anthropic's own tools or toolsets (``web_search_20250305``...; some have no name), passed on as sent."""

    type: str = pydantic.Field(min_length=1, json_schema_extra={"not": {"const": "custom"}})
    name: str | None = None


class MessagesToolChoice(base.Open):
    type: Literal["auto", "any", "none"]
    disable_parallel_tool_use: bool | None = None


class MessagesNamedToolChoice(base.Open):
    type: Literal["tool"]
    name: str = pydantic.Field(description="one of the tools' names")
    disable_parallel_tool_use: bool | None = None


ToolChoice = Annotated[MessagesToolChoice | MessagesNamedToolChoice, pydantic.Field(discriminator="type")]


class _MessagesFields(base.Open):
    model: NonEmpty
    messages: Messages
    system: str | list[MessagesSystemBlock] | None = None
    temperature: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    top_p: Annotated[float, pydantic.Field(ge=0, le=1)] | None = None
    top_k: base.NonNegativeInt | None = None
    stop_sequences: list[str] | None = None
    metadata: MessagesMetadata | None = None
    thinking: Thinking | None = None
    output_config: MessagesOutputConfig | None = None
    context_management: MessagesContextManagement | None = None
    cache_control: MessagesCacheControl | None = None
    tools: list[MessagesClientTool | MessagesServerTool] | None = None
    tool_choice: ToolChoice | None = None


class MessagesRequest(_MessagesFields):
    """An Anthropic Messages request; fields not listed here go upstream as sent (to an Anthropic provider; an
    OpenAI-type provider refuses what it cannot express, naming the field)."""

    max_tokens: base.PositiveInt
    stream: bool | None = None


class MessagesCountTokensRequest(_MessagesFields):
    """A Messages request to count the input tokens of: no ``max_tokens`` needed, and no stream."""

    max_tokens: base.PositiveInt | None = None
    stream: Literal[False] | None = None


class MessagesTokenCount(base.Open):
    input_tokens: base.NonNegativeInt
