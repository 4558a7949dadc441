"""Pure conversions for ``POST /v1/responses``: which upstream API a provider gets, request out, answer back.

A provider that speaks the Responses API gets the body as the client sent it (model name swapped) and its answer
comes back byte for byte; Chat-Completions-only providers and Anthropic get it through the ``wire`` translators.
Built-in tools only a native upstream runs are refused by the translators, except the types the operator lets
drop (``TOKENHUB_RESPONSES_DROP_TOOLS``): offered but not forced, they are left out and the client is told.
Routing and admission read a request through ``routing_body``, a Chat-shaped view of its texts and tools.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal

import orjson

from gateway import tokens
from gateway.config import specs
from gateway.providers import errors as upstream_errors
from gateway.providers.wire import (
    anthropic_to_responses,
    chat_to_responses,
    openai_responses,
    responses_objects,
    responses_to_anthropic,
    responses_to_chat,
    usage,
)
from gateway.providers.wire import errors as wire_errors
from gateway.serving import dialects


class Route(enum.Enum):
    NATIVE = "responses"  # POST {base}/responses, as sent
    CHAT = "chat"  # translated to Chat Completions
    ANTHROPIC = "anthropic"  # translated to Anthropic Messages


def route_of(spec: specs.ProviderSpec) -> Route:
    if spec.type is specs.ProviderType.ANTHROPIC:
        return Route.ANTHROPIC
    return Route.NATIVE if spec.speaks_responses else Route.CHAT


Outbound = dialects.Outbound  # the upstream request, shaped as for the chat endpoints


@dataclasses.dataclass(frozen=True, slots=True)
class Inbound:
    body: bytes
    usage: usage.Usage
    response: dict[str, Any]  # the Response object the client receives


def without_dropped_tools(request: dict[str, Any], droppable: frozenset[str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The request without the built-in tools of a ``droppable`` type, and those types in order.

    A tool the request forces (``tool_choice`` naming its type) is kept, so the translator refuses it by name.
    """
    tools = request.get("tools")
    if not tools or not droppable:
        return request, ()
    choice = request.get("tool_choice")
    forced = choice.get("type") if isinstance(choice, dict) else None
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for tool in tools:
        kind = tool["type"]
        if kind in droppable and kind not in openai_responses.CLIENT_TOOL_TYPES and kind != forced:
            if kind not in dropped:
                dropped.append(kind)
        else:
            kept.append(tool)
    if not dropped:
        return request, ()
    return {**request, "tools": kept}, tuple(dropped)


def outbound(route: Route, request: dict[str, Any], upstream_model: str, *, openai_type: bool) -> Outbound:
    """The upstream request; raises ``wire.Untranslatable`` when the upstream's API cannot express it.

    ``openai_type`` says whether a Chat upstream is OpenAI itself, which wants ``max_completion_tokens`` and is the
    one Chat server that takes custom tools.
    """
    if route is Route.NATIVE:
        return Outbound("/responses", openai_responses.prepare_upstream(request, upstream_model))
    if route is Route.ANTHROPIC:
        return Outbound("/messages", orjson.dumps(responses_to_anthropic.request(request, model=upstream_model)))
    field: Literal["max_tokens", "max_completion_tokens"] = "max_completion_tokens" if openai_type else "max_tokens"
    body = responses_to_chat.request(request, model=upstream_model, max_tokens_field=field, custom_tools=openai_type)
    return Outbound("/chat/completions", orjson.dumps(body))


def inbound(
    route: Route,
    echo: dict[str, Any],
    raw: bytes,
    *,
    response_id: str,
    created_at: int,
    provider: str,
    input_estimate: int,
) -> Inbound:
    """The client's Response and the usage to charge; raises ``MalformedResponse`` for an unusable body.

    ``echo`` is the request the Response echoes (its settings, tools and ``previous_response_id``).
    """
    try:
        parsed = orjson.loads(raw)
        if not isinstance(parsed, dict):
            raise TypeError("not an object")
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise upstream_errors.MalformedResponse(
            provider, f"{provider}: the success body is not a JSON object", status=200
        ) from exc
    try:
        body, counted, response = _translated(route, echo, raw, parsed, response_id=response_id, created_at=created_at)
    except wire_errors.MalformedUpstream as exc:
        raise upstream_errors.MalformedResponse(provider, f"{provider}: {exc.message}", status=200) from exc
    return Inbound(body, counted or _estimate(input_estimate, body), response)


def _translated(
    route: Route, echo: dict[str, Any], raw: bytes, parsed: dict[str, Any], *, response_id: str, created_at: int
) -> tuple[bytes, usage.Usage | None, dict[str, Any]]:
    if route is Route.NATIVE:
        return raw, responses_objects.from_responses(parsed), parsed
    name = str(echo["model"])
    if route is Route.ANTHROPIC:
        counted = usage.from_anthropic(parsed)
        response = anthropic_to_responses.response(
            parsed, request=echo, response_id=response_id, created_at=created_at, model=name
        )
    else:
        counted = usage.from_openai(parsed)
        response = chat_to_responses.response(
            parsed, request=echo, response_id=response_id, created_at=created_at, model=name
        )
    return orjson.dumps(response), counted, response


def _estimate(input_estimate: int, produced: bytes) -> usage.Usage:
    """Counts for an upstream that reported none: the gateway's estimate (the whole body as text), flagged."""
    return usage.Usage(input_estimate, tokens.estimate_text(produced.decode("utf-8", "replace")), estimated=True)


def continued(request: dict[str, Any], conversation: list[dict[str, Any]]) -> dict[str, Any]:
    """The request with the stored conversation in front of its own input and no ``previous_response_id``."""
    expanded = {key: value for key, value in request.items() if key != "previous_response_id"}
    expanded["input"] = conversation + openai_responses.input_items(request)
    return expanded


def routing_body(request: dict[str, Any]) -> dict[str, Any]:
    """A Chat-shaped view of a Responses request, for routing and admission: the texts and images of its items
    as messages, its tools, its output limit as ``max_tokens`` and its output format as ``response_format``."""
    messages: list[dict[str, Any]] = []
    if isinstance(request.get("instructions"), str):
        messages.append({"role": "system", "content": request["instructions"]})
    for item in openai_responses.input_items(request):
        messages.append({"role": "user", "content": _view_content(item)})
    view: dict[str, Any] = {"model": request["model"], "messages": messages}
    if request.get("tools"):
        view["tools"] = request["tools"]
    if isinstance(request.get("max_output_tokens"), int):
        view["max_tokens"] = request["max_output_tokens"]
    fmt = (request.get("text") or {}).get("format")
    if isinstance(fmt, dict):
        view["response_format"] = fmt
    if request.get("stream"):
        view["stream"] = True
    return view


def _view_content(item: dict[str, Any]) -> str | list[dict[str, Any]]:
    """What an item puts before the model, as message content; every byte of it counts towards the bound."""
    kind = openai_responses.item_type(item)
    if kind == "message":
        content = item.get("content")
        if isinstance(content, str):
            return content
        return [_view_part(part) for part in content or () if isinstance(part, dict)]
    if kind in ("function_call", "custom_tool_call"):
        return f"{item.get('name')} {item.get('arguments') or item.get('input') or ''}"
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        if isinstance(output, list):
            return [_view_part(part) for part in output if isinstance(part, dict)]
        return str(output or "")
    if kind == "reasoning":
        texts = [str(s.get("text") or "") for s in item.get("summary") or () if isinstance(s, dict)]
        texts += [str(c.get("text") or "") for c in item.get("content") or () if isinstance(c, dict)]
        return " ".join([*texts, str(item.get("encrypted_content") or "")])
    return orjson.dumps(item).decode()


def _view_part(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("type") == "input_image":
        return {"type": "image_url"}
    if part.get("type") == "input_file":  # a file the provider reads itself: admission reserves it as media
        return {"type": "file", "text": str(part.get("file_data") or part.get("file_url") or part.get("file_id") or "")}
    return {"type": "text", "text": str(part.get("text") or part.get("refusal") or "")}
