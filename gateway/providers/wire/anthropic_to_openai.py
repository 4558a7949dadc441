"""Anthropic Messages to OpenAI Chat Completions: requests, responses and error bodies.

A request from an Anthropic client becomes one any OpenAI-compatible upstream accepts: ``system`` becomes
system messages, ``tool_result`` blocks become tool messages placed before the rest of their user turn, and
Anthropic-only parameters (``top_k``, ``thinking``, cache_control marks) are dropped. Thinking blocks in the
history are dropped too: OpenAI has no way to send them back. ``is_error`` on a tool result has no OpenAI
field either; the result's text is kept as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

from gateway.providers.wire import error_bodies, media, tool_arguments, tool_ids, usage
from gateway.providers.wire.errors import Untranslatable

FINISH_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "end_turn": "stop",
        "max_tokens": "length",
        "stop_sequence": "stop",
        "tool_use": "tool_calls",
        "pause_turn": "stop",
        "refusal": "content_filter",
        "model_context_window_exceeded": "length",
    }
)
TOOL_CHOICES: Final[Mapping[str, str]] = MappingProxyType({"auto": "auto", "none": "none", "any": "required"})
# Anthropic's 529 is its own; OpenAI clients and proxies between them know 503 for the same condition.
OPENAI_STATUSES: Final[Mapping[int, int]] = MappingProxyType({529: 503})


def request(
    body: dict[str, Any],
    *,
    model: str | None = None,
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
) -> dict[str, Any]:
    """The OpenAI request for a validated Anthropic request; ``model`` replaces the client's model name.

    ``max_tokens_field`` names the field the upstream reads: OpenAI's reasoning models accept only
    ``max_completion_tokens``, while many OpenAI-compatible servers know only ``max_tokens``. A streamed
    request asks for the usage chunk, so the answer is charged from the upstream's own count.
    """
    messages = _system(body.get("system"))
    for i, message in enumerate(body["messages"]):
        at = f"messages[{i}].content"
        if message["role"] == "user":
            messages.extend(_user(message["content"], at))
        else:
            messages.append(_assistant(message["content"]))
    out: dict[str, Any] = {"model": model or body["model"], "messages": messages}
    out[max_tokens_field] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    _tools(body, out)
    return out


def response(body: dict[str, Any], *, created: int, model: str | None = None) -> dict[str, Any]:
    """The chat.completion for an Anthropic Message; ``created`` is the Unix time to report."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append(_tool_call(block))
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning_content"] = "".join(thinking)  # as OpenAI-compatible reasoning servers name it
    reported = usage.from_anthropic(body) or usage.Usage(0, 0)
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason(body.get("stop_reason")),
        "logprobs": None,
    }
    return {
        "id": body.get("id") or "chatcmpl-unknown",
        "object": "chat.completion",
        "created": created,
        "model": model or body.get("model") or "",
        "choices": [choice],
        "usage": reported.to_openai(),
    }


def finish_reason(stop_reason: object) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def error(status: int, body: bytes | str | dict[str, Any]) -> error_bodies.ErrorReply:
    """An Anthropic-shaped upstream error as an OpenAI client would see it; Anthropic's 529 becomes 503."""
    read = error_bodies.read(body)
    shown = OPENAI_STATUSES.get(status, status)
    return error_bodies.ErrorReply(shown, error_bodies.openai_body(shown, read.message, code=read.type))


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": tool_ids.from_anthropic(str(block.get("id") or "")),
        "type": "function",
        "function": {
            "name": block.get("name") or "",
            "arguments": tool_arguments.to_arguments(block.get("input")),
        },
    }


def _system(system: object) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if isinstance(system, list):
        return [{"role": "system", "content": block["text"]} for block in system if block.get("text")]
    return []


def _user(content: object, at: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(content if isinstance(content, list) else ()):
        kind = block["type"]
        if kind == "tool_result":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": tool_ids.from_anthropic(block["tool_use_id"]),
                    "content": _tool_result_content(block.get("content"), f"{at}[{j}].content"),
                }
            )
        elif kind == "text":
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block["source"], f"{at}[{j}].source"))
        elif kind == "document":
            parts.append(_document(block, f"{at}[{j}].source"))
        else:
            raise Untranslatable(f"{at}[{j}].type", f"a {kind!r} block has no OpenAI equivalent")
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _image(source: dict[str, Any], at: str) -> dict[str, Any]:
    kind = source.get("type")
    if kind == "base64":
        return {
            "type": "image_url",
            "image_url": {"url": media.data_url(source["media_type"], source["data"])},
        }
    if kind == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise Untranslatable(f"{at}.type", f"a {kind!r} image source has no OpenAI equivalent")


def _document(block: dict[str, Any], at: str) -> dict[str, Any]:
    source = block["source"]
    if source.get("type") != "base64" or source.get("media_type") != "application/pdf":
        raise Untranslatable(at, "only base64 PDF documents are translated")
    file = {
        "file_data": media.data_url("application/pdf", source["data"]),
        "filename": block.get("title") or "document.pdf",
    }
    return {"type": "file", "file": file}


def _tool_result_content(content: object, at: str) -> str | list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for j, block in enumerate(content if isinstance(content, list) else ()):
        if block.get("type") != "text":
            raise Untranslatable(f"{at}[{j}].type", "OpenAI tool messages carry text only")
        parts.append({"type": "text", "text": block["text"]})
    return parts


def _assistant(content: object) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(_tool_call(block))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = body.get("tools")
    if not tools:
        return
    converted = []
    for j, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Untranslatable(
                f"tools[{j}].type", f"Anthropic's {tool['type']!r} server tool has no OpenAI equivalent"
            )
        function: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = tool["input_schema"]
        converted.append({"type": "function", "function": function})
    out["tools"] = converted
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif isinstance(kind, str) and kind in TOOL_CHOICES:
        out["tool_choice"] = TOOL_CHOICES[kind]
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
