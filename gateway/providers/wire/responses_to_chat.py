"""OpenAI Responses requests as Chat Completions requests, for upstreams that speak only Chat Completions.

Input items become messages in order: ``instructions`` and system/developer messages become system messages
where they stand, function calls join the assistant message before them as ``tool_calls``, outputs become
tool messages; the tools of a ``namespace`` go up flat (``tool_namespaces``). Custom (free-form input) tools go
up as they are to OpenAI, and as function tools taking ``{"input": <string>}`` to other Chat servers, which know
only function tools (the answer turns such a call back into a custom call). Reasoning items are dropped: Chat
Completions has no field to send reasoning back (OpenAI's encrypted content is opaque to every other server,
and sending raw reasoning back breaks some reasoning servers), and refusing them would break every multi-turn
agent, which always replays them. What has no Chat equivalent is refused with ``Untranslatable`` naming the
field; docs/wire.md has the whole table.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from gateway.providers.wire import custom_tools as custom_wire
from gateway.providers.wire import openai_responses, tool_namespaces
from gateway.providers.wire.errors import Untranslatable

UNSUPPORTED = {
    "background": "background responses are only run by an OpenAI Responses upstream",
    "conversation": "conversation objects are stored by OpenAI; use previous_response_id",
    "prompt": "prompt templates are stored by OpenAI; send the prompt itself",
    "previous_response_id": "must be resolved to the stored conversation before translation",
}
IMAGE_DETAILS = frozenset({"auto", "low", "high"})


def request(
    body: dict[str, Any],
    *,
    model: str | None = None,
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    custom_tools: bool = True,
) -> dict[str, Any]:
    """The Chat Completions request for a validated Responses request; ``model`` replaces the client's model.

    ``max_tokens_field`` names the field the upstream reads (see ``anthropic_to_openai.request``);
    ``custom_tools`` says whether the upstream takes custom tools (OpenAI does), else they go as function tools.
    A streamed request asks for the usage chunk, so the answer is charged from the upstream's own count.
    """
    for key, reason in UNSUPPORTED.items():
        if body.get(key):
            raise Untranslatable(key, reason)
    if body.get("top_logprobs") or "message.output_text.logprobs" in (body.get("include") or ()):
        raise Untranslatable("top_logprobs", "log probabilities are not translated from Chat Completions")
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    messages.extend(_messages(openai_responses.input_items(body), custom_tools))
    if not messages:
        raise Untranslatable("input", "a request needs input or instructions")
    out: dict[str, Any] = {"model": model or body["model"], "messages": messages}
    if body.get("max_output_tokens") is not None:
        out[max_tokens_field] = body["max_output_tokens"]
    for key in ("temperature", "top_p", "user"):
        if body.get(key) is not None:
            out[key] = body[key]
    reasoning = body.get("reasoning") or {}
    if reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    text = body.get("text") or {}
    if (fmt := _response_format(text.get("format"))) is not None:
        out["response_format"] = fmt
    if text.get("verbosity") is not None:
        out["verbosity"] = text["verbosity"]
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    _tools(body, out, custom_tools)
    return out


def _messages(items: list[dict[str, Any]], custom_tools: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        at = f"input[{i}]"
        kind = openai_responses.item_type(item)
        if kind == "message":
            out.append(_message(item, at))
        elif kind in ("function_call", "custom_tool_call"):
            _add_call(out, item, custom_tools)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            content = _tool_output(item["output"], f"{at}.output")
            out.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
        elif kind == "reasoning":
            continue  # see the module docstring
        elif kind == "item_reference":
            raise Untranslatable(f"{at}.type", "item references must be resolved from stored responses first")
        else:
            raise Untranslatable(f"{at}.type", f"a {kind!r} item has no Chat Completions equivalent")
    return out


def _message(item: dict[str, Any], at: str) -> dict[str, Any]:
    role = item["role"]
    content = item["content"]
    if role == "assistant":
        texts: list[str] = []
        refusals: list[str] = []
        for part in [content] if isinstance(content, str) else content:
            if isinstance(part, str):
                texts.append(part)
            elif part["type"] == "refusal":
                refusals.append(part["refusal"])
            else:
                texts.append(part["text"])
        message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
        if refusals:
            message["refusal"] = "".join(refusals)
        return message
    if role in ("system", "developer"):
        # "developer" is OpenAI's newer name for the same role; many Chat Completions servers know only "system"
        return {"role": "system", "content": content if isinstance(content, str) else _texts(content, f"{at}.content")}
    if isinstance(content, str):
        return {"role": "user", "content": content}
    return {"role": "user", "content": [_user_part(part, f"{at}.content[{j}]") for j, part in enumerate(content)]}


def _texts(parts: list[dict[str, Any]], at: str) -> str:
    for j, part in enumerate(parts):
        if part["type"] != "input_text":
            raise Untranslatable(f"{at}[{j}].type", "system and developer messages carry text only in Chat Completions")
    return "".join(part["text"] for part in parts)


def _user_part(part: dict[str, Any], at: str) -> dict[str, Any]:
    kind = part["type"]
    if kind == "input_text":
        return {"type": "text", "text": part["text"]}
    if kind == "input_image":
        if part.get("image_url") is None:
            raise Untranslatable(f"{at}.file_id", "images by file_id are stored by OpenAI; send image_url")
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail") in IMAGE_DETAILS:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if part.get("file_url") is not None:
        raise Untranslatable(f"{at}.file_url", "Chat Completions takes files as file_data or file_id, not by URL")
    file = {key: part[key] for key in ("file_data", "file_id", "filename") if part.get(key) is not None}
    return {"type": "file", "file": file}


def _tool_output(output: object, at: str) -> str | list[dict[str, Any]]:
    if isinstance(output, str):
        return output
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(output if isinstance(output, list) else ()):
        if part["type"] != "input_text":
            raise Untranslatable(f"{at}[{j}].type", "Chat Completions tool messages carry text only")
        parts.append({"type": "text", "text": part["text"]})
    return parts


def _add_call(out: list[dict[str, Any]], item: dict[str, Any], custom_tools: bool) -> None:
    """Add a call to the assistant message it belongs to: the last message, if that is an assistant message
    whose earlier calls (if any) are still unanswered; otherwise a new one."""
    name = tool_namespaces.call_name(item)
    if item["type"] == "function_call":
        call = {"id": item["call_id"], "type": "function", "function": {"name": name, "arguments": item["arguments"]}}
    elif custom_tools:
        call = {"id": item["call_id"], "type": "custom", "custom": {"name": name, "input": item["input"]}}
    else:
        arguments = orjson.dumps(custom_wire.wrapped(item["input"])).decode()
        call = {"id": item["call_id"], "type": "function", "function": {"name": name, "arguments": arguments}}
    last = out[-1] if out else None
    if last is None or last["role"] != "assistant":
        last = {"role": "assistant", "content": None}
        out.append(last)
    last.setdefault("tool_calls", []).append(call)


def _response_format(fmt: object) -> dict[str, Any] | None:
    if not isinstance(fmt, dict) or fmt.get("type") == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    schema = {key: fmt[key] for key in ("name", "schema", "description", "strict") if fmt.get(key) is not None}
    return {"type": "json_schema", "json_schema": schema}


def _tools(body: dict[str, Any], out: dict[str, Any], custom_tools: bool) -> None:
    openai_responses.refuse_builtin_tools(body)
    tools = body.get("tools")
    if not tools:
        return
    converted = [_tool(tool, custom_tools) for _, tool in tool_namespaces.flat_tools(tools)]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice["type"] == "allowed_tools":
        # Chat Completions servers other than OpenAI lack allowed_tools; sending only those tools is the same.
        allowed = {(t.get("type") if custom_tools else "function", t.get("name")) for t in choice["tools"]}
        converted = [t for t in converted if (t["type"], t[t["type"]]["name"]) in allowed]
        choice = choice["mode"]
    out["tools"] = converted
    if isinstance(choice, dict):
        kind = choice["type"] if custom_tools else "function"
        out["tool_choice"] = {"type": kind, kind: {"name": choice["name"]}}
    elif choice is not None:
        out["tool_choice"] = choice
    if body.get("parallel_tool_calls") is not None:
        out["parallel_tool_calls"] = body["parallel_tool_calls"]


def _tool(tool: dict[str, Any], custom_tools: bool) -> dict[str, Any]:
    kind = tool["type"]
    spec: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        spec["description"] = tool["description"]
    if kind == "custom" and not custom_tools:
        spec["parameters"] = custom_wire.input_schema(tool.get("format"))
        return {"type": "function", "function": spec}
    if kind == "function":
        spec["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            spec["strict"] = tool["strict"]
    elif tool.get("format") is not None:
        spec["format"] = tool["format"]
    return {"type": kind, kind: spec}
