"""OpenAI Chat Completions to Anthropic Messages: requests, responses and error bodies.

A request from an OpenAI client becomes one an Anthropic upstream accepts: system and developer messages
become ``system`` (wherever they stood), tool messages become ``tool_result`` blocks with consecutive ones in
one user turn, ``max_tokens`` gets a default because Anthropic requires it, ``temperature`` is clamped to
Anthropic's 0-1, and OpenAI-only parameters Anthropic would reject (penalties, seed, logprobs...) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson

from gateway.providers.wire import error_bodies, media, tool_arguments, tool_ids, usage
from gateway.providers.wire.errors import Untranslatable

DEFAULT_MAX_TOKENS = 4096
STOP_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "function_call": "tool_use",
        "content_filter": "refusal",
    }
)
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no code fences."


def request(
    body: dict[str, Any], *, model: str | None = None, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    """The Anthropic request for a validated OpenAI request; ``model`` replaces the client's model name.

    ``response_format`` has no Anthropic equivalent: JSON mode becomes a system instruction (with the schema,
    for ``json_schema``), which makes JSON output very likely but, unlike OpenAI's strict mode, not certain.
    """
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            raise Untranslatable(legacy, "the deprecated functions API is not translated; use tools")
    system, messages = _messages(body["messages"])
    instruction = _json_instruction(body.get("response_format"))
    if instruction:
        system.append({"type": "text", "text": instruction})
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    out: dict[str, Any] = {"model": model or body["model"], "max_tokens": max_tokens, "messages": messages}
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    if (temperature := body.get("temperature")) is not None:
        out["temperature"] = min(float(temperature), 1.0)
    if (top_p := body.get("top_p")) is not None:
        out["top_p"] = top_p
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("stream") is not None:
        out["stream"] = body["stream"]
    if isinstance(user := body.get("user"), str):
        out["metadata"] = {"user_id": user}
    _tools(body, out)
    return out


def response(body: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """The Anthropic Message for an OpenAI chat.completion; ``model`` replaces the upstream's model name."""
    choices = body.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = _text_of(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if refusal:
        content.append({"type": "text", "text": refusal})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": tool_ids.to_anthropic(str(call.get("id") or "")),
                "name": function.get("name") or "",
                "input": tool_arguments.to_input(function.get("arguments") or ""),
            }
        )
    reported = usage.from_openai(body) or usage.Usage(0, 0)
    return {
        "id": body.get("id") or "msg_unknown",
        "type": "message",
        "role": "assistant",
        "model": model or body.get("model") or "",
        "content": content,
        "stop_reason": "refusal" if refusal else stop_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": reported.to_anthropic(),
    }


def stop_reason(finish_reason: object) -> str:
    return STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"


def error(status: int, body: bytes | str | dict[str, Any]) -> error_bodies.ErrorReply:
    """An OpenAI-shaped upstream error as Anthropic's client would see it, same status."""
    read = error_bodies.read(body)
    return error_bodies.ErrorReply(status, error_bodies.anthropic_body(status, read.message))


def _messages(source: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None  # the tool_result blocks of the user turn being built
    last = len(source) - 1
    for i, message in enumerate(source):
        role = message["role"]
        at = f"messages[{i}]"
        if role != "tool":
            results = None
        if role in ("system", "developer"):
            system.extend({"type": "text", "text": t} for t in _texts(message["content"]) if t)
        elif role == "user":
            messages.append({"role": "user", "content": _user_content(message["content"], f"{at}.content")})
        elif role == "assistant":
            content = _assistant_content(message, final=i == last)
            if content:
                messages.append({"role": "assistant", "content": content})
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": tool_ids.to_anthropic(message["tool_call_id"]),
                "content": _tool_result_content(message["content"]),
            }
            if results is None:
                results = []
                messages.append({"role": "user", "content": results})
            results.append(block)
        else:
            raise Untranslatable(f"{at}.role", f"the {role!r} role is not translated")
    return system, messages


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, dict)]
    return []


def _text_of(content: object) -> str:
    return "".join(_texts(content))


def _user_content(content: object, at: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content if isinstance(content, list) else ()):
        kind = part.get("type")
        if kind == "text":
            if part["text"]:
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(_image(part["image_url"]["url"], f"{at}[{j}].image_url.url"))
        elif kind == "file":
            blocks.append(_document(part["file"], f"{at}[{j}].file"))
        else:
            raise Untranslatable(f"{at}[{j}].type", f"{kind!r} content has no Anthropic equivalent")
    return blocks


def _image(url: str, at: str) -> dict[str, Any]:
    inline = media.parse_data_url(url)
    if inline is not None:
        if inline[0] not in media.ANTHROPIC_IMAGE_TYPES:
            raise Untranslatable(at, f"Anthropic takes JPEG, PNG, GIF or WebP images, not {inline[0]!r}")
        return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
    if media.is_web_url(url):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise Untranslatable(at, "an image must be a base64 data: URL or an http(s) URL")


def _document(file: dict[str, Any], at: str) -> dict[str, Any]:
    inline = media.parse_data_url(file.get("file_data") or "")
    if inline is None or inline[0] != "application/pdf":
        raise Untranslatable(at, "only inline PDF files (file_data as a data: URL) are translated")
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": inline[1]},
    }
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _assistant_content(message: dict[str, Any], *, final: bool) -> str | list[dict[str, Any]]:
    text = _text_of(message.get("content")) or message.get("refusal") or ""
    if final:
        text = text.rstrip()  # Anthropic refuses a final assistant turn that ends in whitespace
    calls = message.get("tool_calls")
    if not calls:
        return text
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for call in calls:
        function = call["function"]
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_ids.to_anthropic(call["id"]),
                "name": function["name"],
                "input": tool_arguments.to_input(function["arguments"]),
            }
        )
    return blocks


def _tool_result_content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": t} for t in _texts(content)]


def _json_instruction(response_format: object) -> str:
    if not isinstance(response_format, dict):
        return ""
    kind = response_format.get("type")
    if kind == "json_object":
        return JSON_OBJECT_INSTRUCTION
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = orjson.dumps(spec.get("schema") or {}).decode()
        return f"{JSON_OBJECT_INSTRUCTION} It must conform to this JSON Schema ({spec.get('name')}): {schema}"
    return ""


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = body.get("tools")
    if not tools:
        return
    converted = []
    for j, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise Untranslatable(f"tools[{j}].type", f"{tool.get('type')!r} tools have no Anthropic equivalent")
        function = tool["function"]
        spec: dict[str, Any] = {"name": function["name"]}
        if function.get("description"):
            spec["description"] = function["description"]
        spec["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
        converted.append(spec)
    out["tools"] = converted
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    mapped: dict[str, Any] | None = None
    if isinstance(choice, dict):
        mapped = {"type": "tool", "name": choice["function"]["name"]}
    elif choice is not None:
        mapped = {"type": {"auto": "auto", "none": "none", "required": "any"}[choice]}
    if parallel is False:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    if mapped is not None:
        out["tool_choice"] = mapped
