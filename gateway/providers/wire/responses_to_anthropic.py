"""OpenAI Responses requests as Anthropic Messages requests, translated directly rather than through Chat.

Going through Chat Completions would lose what Anthropic needs and Chat cannot carry: thinking blocks sent
back with their signatures (Anthropic refuses a tool-use turn of a thinking model without them; they travel in
``encrypted_content``, see ``reasoning_state``), images in tool results, and ``reasoning.effort`` as a
thinking budget. System and developer messages join ``system``; calls become ``tool_use`` blocks of the
assistant turn, outputs ``tool_result`` blocks of the next user turn. A custom (free-form input) tool becomes
a tool taking one string, ``{"input": ...}``; namespaced tools go up flat. What has no equivalent is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson

from gateway.providers.wire import (
    custom_tools,
    media,
    openai_responses,
    reasoning_state,
    tool_arguments,
    tool_ids,
    tool_namespaces,
)
from gateway.providers.wire.errors import Untranslatable
from gateway.providers.wire.openai_to_anthropic import DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION
from gateway.providers.wire.responses_to_chat import UNSUPPORTED

# Thinking budgets for reasoning.effort; Anthropic's minimum budget is 1024 tokens.
THINKING_BUDGETS: Final[Mapping[str, int]] = MappingProxyType(
    {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 32000}
)
MIN_BUDGET = 1024
# max_tokens when thinking and the client set no limit: room for the answer after the budget, within the
# smallest output limit of Anthropic's thinking models (32,000 tokens)
MAX_DEFAULT_TOKENS = 32000
TOOL_CHOICES: Final[Mapping[str, str]] = MappingProxyType({"auto": "auto", "none": "none", "required": "any"})


def request(body: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """The Anthropic request for a validated Responses request; ``model`` replaces the client's model name."""
    for key, reason in UNSUPPORTED.items():
        if body.get(key):
            raise Untranslatable(key, reason)
    if body.get("top_logprobs") or "message.output_text.logprobs" in (body.get("include") or ()):
        raise Untranslatable("top_logprobs", "Anthropic reports no log probabilities")
    system: list[str] = [body["instructions"]] if body.get("instructions") else []
    messages = _messages(openai_responses.input_items(body), system)
    if not messages:
        raise Untranslatable("input", "an Anthropic request needs at least one user or assistant message")
    instruction = _json_instruction((body.get("text") or {}).get("format"))
    if instruction:
        system.append(instruction)
    out: dict[str, Any] = {"model": model or body["model"], "messages": messages}
    _thinking(body, out)
    if system:
        out["system"] = system[0] if len(system) == 1 else [{"type": "text", "text": s} for s in system]
    if (temperature := body.get("temperature")) is not None:
        out["temperature"] = min(float(temperature), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if body.get("stream"):
        out["stream"] = True
    _tools(body, out)
    if "thinking" in out and out.get("tool_choice", {}).get("type") in ("any", "tool"):
        raise Untranslatable("tool_choice", "Anthropic models cannot be forced to call a tool while thinking")
    return out


def _thinking(body: dict[str, Any], out: dict[str, Any]) -> None:
    """``max_tokens`` and, for a ``reasoning.effort`` other than none, a thinking budget below it."""
    effort = (body.get("reasoning") or {}).get("effort")
    limit = body.get("max_output_tokens")
    budget = THINKING_BUDGETS.get(effort) if isinstance(effort, str) else None
    if budget is None:
        out["max_tokens"] = limit or DEFAULT_MAX_TOKENS
        return
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            raise Untranslatable(key, "Anthropic models take no sampling settings while thinking (reasoning.effort)")
    max_tokens = limit or min(budget + DEFAULT_MAX_TOKENS, MAX_DEFAULT_TOKENS)
    budget = min(budget, max_tokens - 1)  # Responses counts reasoning inside max_output_tokens, as Anthropic does
    out["max_tokens"] = max_tokens
    if budget >= MIN_BUDGET:
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _messages(items: list[dict[str, Any]], system: list[str]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    def add(role: str, block: dict[str, Any]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append(block)
        else:
            messages.append({"role": role, "content": [block]})

    for i, item in enumerate(items):
        at = f"input[{i}]"
        kind = openai_responses.item_type(item)
        if kind == "message":
            role = item["role"]
            content = item["content"]
            if role in ("system", "developer"):
                system.append(content if isinstance(content, str) else _system_text(content, f"{at}.content"))
                continue
            for block in _content(content, f"{at}.content"):
                add(role, block)
        elif kind == "reasoning":
            thinking = reasoning_state.decode(item.get("encrypted_content"))
            if thinking is not None:  # reasoning from anywhere else is opaque to Anthropic: dropped
                add("assistant", thinking)
        elif kind in ("function_call", "custom_tool_call"):
            arguments = (
                tool_arguments.to_input(item["arguments"])
                if kind == "function_call"
                else custom_tools.wrapped(item["input"])
            )
            tool_use = {
                "type": "tool_use",
                "id": tool_ids.to_anthropic(item["call_id"]),
                "name": tool_namespaces.call_name(item),
                "input": arguments,
            }
            add("assistant", tool_use)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            result = {
                "type": "tool_result",
                "tool_use_id": tool_ids.to_anthropic(item["call_id"]),
                "content": _tool_result(item["output"], f"{at}.output"),
            }
            add("user", result)
        elif kind == "item_reference":
            raise Untranslatable(f"{at}.type", "item references must be resolved from stored responses first")
        else:
            raise Untranslatable(f"{at}.type", f"a {kind!r} item has no Anthropic Messages equivalent")
    for message in messages:
        _tidy(message)
    if messages and messages[-1]["role"] == "assistant":
        _trim_prefill(messages[-1])
    return messages


def _tidy(message: dict[str, Any]) -> None:
    """Tool results first in a user turn, as Anthropic requires; empty text blocks out."""
    blocks = [b for b in message["content"] if b["type"] != "text" or b["text"]]
    if message["role"] == "user":
        blocks.sort(key=lambda b: b["type"] != "tool_result")
    message["content"] = blocks or [{"type": "text", "text": "(empty)"}]


def _trim_prefill(message: dict[str, Any]) -> None:
    """Anthropic refuses a final assistant turn ending in whitespace."""
    last = message["content"][-1]
    if last["type"] == "text":
        last["text"] = last["text"].rstrip() or "(empty)"


def _system_text(parts: list[dict[str, Any]], at: str) -> str:
    for j, part in enumerate(parts):
        if part["type"] != "input_text":
            raise Untranslatable(f"{at}[{j}].type", "Anthropic's system prompt carries text only")
    return "".join(part["text"] for part in parts)


def _content(content: str | list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for j, part in enumerate(content):
        kind = part["type"]
        if kind in ("input_text", "output_text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "refusal":
            blocks.append({"type": "text", "text": part["refusal"]})
        elif kind == "input_image":
            blocks.append(_image(part, f"{at}[{j}]"))
        else:
            blocks.append(_document(part, f"{at}[{j}]"))
    return blocks


def _image(part: dict[str, Any], at: str) -> dict[str, Any]:
    url = part.get("image_url")
    if url is None:
        raise Untranslatable(f"{at}.file_id", "images by file_id are stored by OpenAI; send image_url")
    inline = media.parse_data_url(url)
    if inline is not None:
        if inline[0] not in media.ANTHROPIC_IMAGE_TYPES:
            raise Untranslatable(f"{at}.image_url", f"Anthropic takes JPEG, PNG, GIF or WebP images, not {inline[0]!r}")
        return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
    if media.is_web_url(url):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise Untranslatable(f"{at}.image_url", "an image must be a base64 data: URL or an http(s) URL")


def _document(part: dict[str, Any], at: str) -> dict[str, Any]:
    inline = media.parse_data_url(part.get("file_data") or "")
    if inline is None or inline[0] != "application/pdf":
        raise Untranslatable(at, "only inline PDF files (file_data as a data: URL) are translated")
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": inline[1]},
    }
    if part.get("filename"):
        block["title"] = part["filename"]
    return block


def _tool_result(output: str | list[dict[str, Any]], at: str) -> str | list[dict[str, Any]]:
    if isinstance(output, str):
        return output
    blocks = []
    for j, part in enumerate(output):
        if part["type"] == "input_text":
            blocks.append({"type": "text", "text": part["text"]})
        elif part["type"] == "input_image":
            blocks.append(_image(part, f"{at}[{j}]"))
        else:
            raise Untranslatable(f"{at}[{j}].type", "Anthropic tool results carry text and images only")
    return blocks


def _json_instruction(fmt: object) -> str:
    """JSON output as a system instruction: Anthropic has no JSON mode, so JSON is very likely, not certain."""
    if not isinstance(fmt, dict) or fmt.get("type") == "text":
        return ""
    if fmt["type"] == "json_object":
        return JSON_OBJECT_INSTRUCTION
    schema = orjson.dumps(fmt["schema"]).decode()
    return f"{JSON_OBJECT_INSTRUCTION} It must conform to this JSON Schema ({fmt['name']}): {schema}"


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    openai_responses.refuse_builtin_tools(body)
    tools = body.get("tools")
    if not tools:
        return
    converted: list[dict[str, Any]] = []
    for _, tool in tool_namespaces.flat_tools(tools):
        spec: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            spec["description"] = tool["description"]
        if tool["type"] == "custom":
            spec["input_schema"] = custom_tools.input_schema(tool.get("format"))
        else:
            spec["input_schema"] = tool.get("parameters") or {"type": "object", "properties": {}}
        converted.append(spec)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice["type"] == "allowed_tools":
        allowed = {t.get("name") for t in choice["tools"] if t.get("type") in ("function", "custom")}
        converted = [t for t in converted if t["name"] in allowed]
        choice = choice["mode"]
    out["tools"] = converted
    mapped: dict[str, Any] | None = None
    if isinstance(choice, dict):
        mapped = {"type": "tool", "name": choice["name"]}
    elif choice is not None:
        mapped = {"type": TOOL_CHOICES[choice]}
    if body.get("parallel_tool_calls") is False:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    if mapped is not None:
        out["tool_choice"] = mapped
