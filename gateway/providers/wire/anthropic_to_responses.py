"""An Anthropic Message as an OpenAI Responses ``response`` object.

Content blocks map one to one, in order: ``thinking`` becomes a reasoning item whose summary is the thinking
text (Anthropic's thinking is itself summarised for current models) and whose ``encrypted_content`` carries
the block for the way back; ``redacted_thinking`` a reasoning item with no summary; ``text`` a message item;
``tool_use`` a function call (or a custom tool call, its input taken out of ``{"input": ...}``). Cache reads
and cache writes stay in the usage, which Chat Completions could not carry. ``max_tokens`` and ``refusal``
stops make the response incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from gateway.providers.wire import (
    custom_tools,
    reasoning_state,
    responses_objects,
    tool_arguments,
    tool_ids,
    tool_namespaces,
    usage,
)

INCOMPLETE_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "max_tokens": "max_output_tokens",
        "model_context_window_exceeded": "max_output_tokens",
        "refusal": "content_filter",
    }
)


def response(
    body: dict[str, Any], *, request: dict[str, Any], response_id: str, created_at: int, model: str | None = None
) -> dict[str, Any]:
    """The Response for an Anthropic Message answering the validated Responses ``request``."""
    incomplete = incomplete_reason(body.get("stop_reason"))
    status = "incomplete" if incomplete else "completed"
    out = responses_objects.envelope(
        request,
        response_id=response_id,
        created_at=created_at,
        model=model or body.get("model") or request["model"],
        status=status,
    )
    output: list[dict[str, Any]] = out["output"]
    tools = _Tools(tool_namespaces.names(request), tool_namespaces.custom_names(request))
    for block in body.get("content") or ():
        item = _item(block, response_id, len(output), status, tools)
        if item is not None:
            output.append(item)
    if incomplete:
        out["incomplete_details"] = {"reason": incomplete}
    out["usage"] = responses_objects.usage_body(usage.from_anthropic(body) or usage.Usage(0, 0))
    return out


def incomplete_reason(stop_reason: object) -> str | None:
    return INCOMPLETE_REASONS.get(stop_reason) if isinstance(stop_reason, str) else None


@dataclass(frozen=True, slots=True)
class _Tools:
    namespaced: dict[str, tuple[str, str]]  # flat name -> (namespace, name)
    custom: frozenset[str]  # flat names of custom (free-form input) tools


def _item(block: dict[str, Any], response_id: str, index: int, status: str, tools: _Tools) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        item_id = responses_objects.item_id("message", response_id, index)
        return responses_objects.message_item(
            item_id, [responses_objects.text_part(block.get("text") or "")], status=status
        )
    if kind in ("thinking", "redacted_thinking"):
        item_id = responses_objects.item_id("reasoning", response_id, index)
        thinking = block.get("thinking") if kind == "thinking" else None
        summary = (thinking,) if isinstance(thinking, str) and thinking else ()
        return responses_objects.reasoning_item(
            item_id, summary=summary, encrypted_content=reasoning_state.encode(block)
        )
    if kind == "tool_use":
        called = str(block.get("name") or "")
        namespace, name = tools.namespaced.get(called, (None, called))
        call_id = tool_ids.from_anthropic(str(block.get("id") or ""))
        if called in tools.custom:
            item_id = responses_objects.item_id("custom_tool_call", response_id, index)
            return responses_objects.custom_call_item(
                item_id, call_id, name, custom_tools.unwrapped(block.get("input")), namespace=namespace
            )
        return responses_objects.function_call_item(
            responses_objects.item_id("function_call", response_id, index),
            call_id,
            name,
            tool_arguments.to_arguments(block.get("input")),
            namespace=namespace,
        )
    return None  # server tool blocks: built-in tools are refused before they could be used
