"""A Chat Completions answer as an OpenAI Responses ``response`` object.

The first choice becomes output items in the order a Responses model produces them: reasoning (from the
``reasoning_content`` or ``reasoning`` field reasoning servers add, as raw ``reasoning_text`` content: it is
the model's own text, not a summary), the message (text and refusal parts), then one ``function_call`` or
``custom_tool_call`` item per tool call, keeping the upstream's call id as ``call_id`` (a function call to a
custom tool, as servers without custom tools make them, is a custom call with the input taken out). ``finish_reason``
``length`` and ``content_filter`` make the response ``incomplete`` with the matching reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from gateway.providers.wire import custom_tools, responses_objects, tool_namespaces, usage

INCOMPLETE_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {"length": "max_output_tokens", "content_filter": "content_filter"}
)


def response(
    body: dict[str, Any], *, request: dict[str, Any], response_id: str, created_at: int, model: str | None = None
) -> dict[str, Any]:
    """The Response for a chat.completion answering the validated Responses ``request``.

    ``model`` replaces the upstream's model name (the name the client asked for, usually).
    """
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    incomplete = incomplete_reason(choice.get("finish_reason"))
    status = "incomplete" if incomplete else "completed"
    out = responses_objects.envelope(
        request,
        response_id=response_id,
        created_at=created_at,
        model=model or body.get("model") or request["model"],
        status=status,
    )
    output: list[dict[str, Any]] = out["output"]
    reasoning = reasoning_text(message)
    if reasoning:
        rs_id = responses_objects.item_id("reasoning", response_id, len(output))
        output.append(responses_objects.reasoning_item(rs_id, text=reasoning))
    parts: list[dict[str, Any]] = []
    if text := _text(message.get("content")):
        parts.append(responses_objects.text_part(text))
    if refusal := message.get("refusal"):
        parts.append(responses_objects.refusal_part(str(refusal)))
    if parts:
        msg_id = responses_objects.item_id("message", response_id, len(output))
        output.append(responses_objects.message_item(msg_id, parts, status=status))
    namespaced, custom = tool_namespaces.names(request), tool_namespaces.custom_names(request)
    for call in message.get("tool_calls") or ():
        output.append(_call_item(call, response_id, len(output), namespaced, custom))
    if incomplete:
        out["incomplete_details"] = {"reason": incomplete}
    reported = usage.from_openai(body) or usage.Usage(0, 0)
    out["usage"] = responses_objects.usage_body(
        reported, reasoning_tokens=responses_objects.reasoning_tokens(body.get("usage"))
    )
    return out


def incomplete_reason(finish_reason: object) -> str | None:
    """The ``incomplete_details.reason`` for a Chat finish reason; ``None`` when the answer is whole."""
    return INCOMPLETE_REASONS.get(finish_reason) if isinstance(finish_reason, str) else None


def reasoning_text(message: dict[str, Any]) -> str:
    """The reasoning a reasoning server put beside the answer (``reasoning_content``, or ``reasoning``)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _call_item(
    call: dict[str, Any],
    response_id: str,
    index: int,
    namespaced: dict[str, tuple[str, str]],
    custom_names: frozenset[str],
) -> dict[str, Any]:
    call_id = str(call.get("id") or responses_objects.item_id("function_call", response_id, index))
    custom = call.get("custom")
    function = call.get("function") or {}
    called = str(function.get("name") or "")
    tool_input: str | None = None
    if call.get("type") == "custom" and isinstance(custom, dict):
        called, tool_input = str(custom.get("name") or ""), str(custom.get("input") or "")
    elif called in custom_names:
        tool_input = custom_tools.unwrapped_json(str(function.get("arguments") or ""))
    namespace, name = namespaced.get(called, (None, called))
    if tool_input is not None:
        item_id = responses_objects.item_id("custom_tool_call", response_id, index)
        return responses_objects.custom_call_item(item_id, call_id, name, tool_input, namespace=namespace)
    item_id = responses_objects.item_id("function_call", response_id, index)
    return responses_objects.function_call_item(
        item_id, call_id, name, str(function.get("arguments") or ""), namespace=namespace
    )
