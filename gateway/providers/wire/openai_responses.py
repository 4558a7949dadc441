"""Validate an OpenAI Responses request (``POST /v1/responses``) and read it as a list of input items.

The checks are the ones OpenAI enforces, each naming the field path OpenAI would (``input[3].call_id``).
Input items and tools of types this module does not know are kept as they are, so a native Responses
upstream receives new item and tool types unchanged; the translators refuse what they cannot express.
Tools other than ``function``, ``custom`` and ``namespace`` run at OpenAI, not at the client:
``builtin_tools`` lists them so a caller can refuse them for any other upstream with a 400 naming the tool.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import checks, reasoning_state
from gateway.providers.wire.errors import Untranslatable, WireError

ROLES = ("user", "assistant", "system", "developer")
CLIENT_TOOL_TYPES = frozenset({"function", "custom", "namespace"})
TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
INPUT_PARTS = ("input_text", "input_image", "input_file")
ASSISTANT_PARTS = ("output_text", "refusal", "input_text")
IMAGE_DETAILS = ("auto", "low", "high", "original")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SUMMARIES = ("auto", "concise", "detailed")
FORMATS = ("text", "json_object", "json_schema")
CALL_TYPES = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
MIN_OUTPUT_TOKENS = 16
MAX_METADATA_PAIRS = 16


def parse_request(body: bytes) -> dict[str, Any]:
    """Parse and validate a request body; the returned dict is the body itself, unknown fields included."""
    request = checks.parse_object(body)
    validate_request(request)
    return request


def validate_request(request: dict[str, Any]) -> None:
    checks.string(*checks.required(request, "model"), non_empty=True)
    if request.get("previous_response_id") is not None and request.get("conversation") is not None:
        raise WireError("previous_response_id", "cannot be used together with conversation")
    if (value := request.get("previous_response_id")) is not None:
        checks.string(value, "previous_response_id", non_empty=True)
    for key in ("instructions", "user", "prompt_cache_key", "safety_identifier", "service_tier"):
        if (value := request.get(key)) is not None:
            checks.string(value, key)
    for key in ("stream", "store", "background", "parallel_tool_calls"):
        if (value := request.get(key)) is not None:
            checks.boolean(value, key)
    if (options := request.get("stream_options")) is not None:
        if not request.get("stream"):
            raise WireError("stream_options", "is only allowed when stream is true")
        checks.obj(options, "stream_options")
    if (value := request.get("max_output_tokens")) is not None:
        checks.integer(value, "max_output_tokens", minimum=MIN_OUTPUT_TOKENS)
    if (value := request.get("max_tool_calls")) is not None:
        checks.integer(value, "max_tool_calls", minimum=1)
    if (value := request.get("temperature")) is not None:
        checks.number(value, "temperature", minimum=0, maximum=2)
    if (value := request.get("top_p")) is not None:
        checks.number(value, "top_p", minimum=0, maximum=1)
    if (value := request.get("top_logprobs")) is not None:
        checks.integer(value, "top_logprobs", minimum=0, maximum=20)
    if (value := request.get("truncation")) is not None:
        checks.one_of(value, "truncation", ("auto", "disabled"))
    if (value := request.get("include")) is not None:
        for j, entry in enumerate(checks.array(value, "include")):
            checks.string(entry, f"include[{j}]")
    _validate_metadata(request.get("metadata"))
    _validate_reasoning(request.get("reasoning"))
    _validate_text(request.get("text"))
    names = _validate_tools(request.get("tools"))
    _validate_tool_choice(request.get("tool_choice"), names)
    value = request.get("input")
    if value is not None and not isinstance(value, str):
        _validate_items(checks.array(value, "input"), chained=request.get("previous_response_id") is not None)


def prepare_upstream(request: dict[str, Any], upstream_model: str) -> bytes:
    """The body for a native OpenAI Responses upstream: its own model name, and without the reasoning items
    that carry an Anthropic model's thinking (``reasoning_state``), which OpenAI would refuse as foreign."""
    body = dict(request)
    body["model"] = upstream_model
    items = body.get("input")
    if isinstance(items, list) and any(reasoning_state.is_anthropic(i) for i in items if isinstance(i, dict)):
        body["input"] = [i for i in items if not (isinstance(i, dict) and reasoning_state.is_anthropic(i))]
    return orjson.dumps(body)


def input_items(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The input of a validated request as items: a string input is one user message."""
    value = request.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    items: list[dict[str, Any]] = value
    return items


def item_type(item: dict[str, Any]) -> str:
    """An input item's type; a message may leave it out (``{"role": "user", "content": "hi"}``)."""
    kind = item.get("type")
    return kind if isinstance(kind, str) else "message"


def builtin_tools(request: dict[str, Any]) -> list[tuple[str, str]]:
    """``(param, tool type)`` of each tool in a validated request that runs at OpenAI, not at the client.

    A ``tool_choice`` forcing such a tool is listed too, so a refusal always names something the client sent.
    """
    found = [
        (f"tools[{j}]", str(tool["type"]))
        for j, tool in enumerate(request.get("tools") or ())
        if tool["type"] not in CLIENT_TOOL_TYPES
    ]
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice["type"] not in ("function", "custom", "allowed_tools"):
        found.append(("tool_choice", str(choice["type"])))
    return found


def refuse_builtin_tools(request: dict[str, Any]) -> None:
    """Raise ``Untranslatable`` naming the first built-in tool: for any upstream that cannot run them."""
    found = builtin_tools(request)
    if not found:
        return
    param, kind = found[0]
    raise Untranslatable(
        f"{param}.type" if param.startswith("tools") else "tool_choice.type",
        f"{kind!r} is a built-in tool that only an OpenAI Responses upstream runs; this model's upstream "
        "cannot, so use a function tool instead",
    )


def _validate_metadata(metadata: object) -> None:
    if metadata is None:
        return
    pairs = checks.obj(metadata, "metadata")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise WireError("metadata", f"allows at most {MAX_METADATA_PAIRS} pairs, got {len(pairs)}")
    for key, value in pairs.items():
        if len(key) > 64:
            raise WireError("metadata", f"keys are at most 64 characters, got {len(key)}")
        if len(checks.string(value, f"metadata.{key}")) > 512:
            raise WireError(f"metadata.{key}", f"values are at most 512 characters, got {len(value)}")


def _validate_reasoning(reasoning: object) -> None:
    if reasoning is None:
        return
    config = checks.obj(reasoning, "reasoning")
    if (effort := config.get("effort")) is not None:
        checks.one_of(effort, "reasoning.effort", EFFORTS)
    for key in ("summary", "generate_summary"):
        if (value := config.get(key)) is not None:
            checks.one_of(value, f"reasoning.{key}", SUMMARIES)


def _validate_text(text: object) -> None:
    if text is None:
        return
    config = checks.obj(text, "text")
    if (verbosity := config.get("verbosity")) is not None:
        checks.one_of(verbosity, "text.verbosity", ("low", "medium", "high"))
    fmt = config.get("format")
    if fmt is None:
        return
    kind = checks.one_of(checks.obj(fmt, "text.format").get("type"), "text.format.type", FORMATS)
    if kind == "json_schema":
        name = checks.string(*checks.required(fmt, "name", "text.format"), non_empty=True)
        if len(name) > 64 or not TOOL_NAME_CHARS.issuperset(name):
            raise WireError("text.format.name", "must be 1-64 characters of a-z, A-Z, 0-9, _ or -")
        checks.obj(*checks.required(fmt, "schema", "text.format"))
        if (strict := fmt.get("strict")) is not None:
            checks.boolean(strict, "text.format.strict")
        if (description := fmt.get("description")) is not None:
            checks.string(description, "text.format.description")


def _validate_tools(tools: object) -> set[str]:
    """Check the tools; return the names of the client tools (functions and custom tools)."""
    names: set[str] = set()
    if tools is None:
        return names
    for j, tool in enumerate(checks.array(tools, "tools")):
        p = f"tools[{j}]"
        kind = checks.string(*checks.required(checks.obj(tool, p), "type", p))
        if kind == "namespace":
            checks.string(*checks.required(tool, "name", p), non_empty=True)
            for k, inner in enumerate(checks.array(*checks.required(tool, "tools", p))):
                q = f"{p}.tools[{k}]"
                inner_kind = checks.one_of(checks.obj(inner, q).get("type"), f"{q}.type", ("function", "custom"))
                _validate_client_tool(inner, inner_kind, q)
        elif kind in CLIENT_TOOL_TYPES:
            names.add(_validate_client_tool(tool, kind, p))
    return names


def _validate_client_tool(tool: dict[str, Any], kind: str, at: str) -> str:
    name = checks.string(*checks.required(tool, "name", at))
    if not 1 <= len(name) <= 64 or not TOOL_NAME_CHARS.issuperset(name):
        raise WireError(f"{at}.name", "must be 1-64 characters of a-z, A-Z, 0-9, _ or -")
    if (description := tool.get("description")) is not None:
        checks.string(description, f"{at}.description")
    if kind == "function":
        if (parameters := tool.get("parameters")) is not None:
            checks.obj(parameters, f"{at}.parameters")
        if (strict := tool.get("strict")) is not None:
            checks.boolean(strict, f"{at}.strict")
    elif (fmt := tool.get("format")) is not None:
        checks.string(*checks.required(checks.obj(fmt, f"{at}.format"), "type", f"{at}.format"))
    return name


def _validate_tool_choice(value: object, names: set[str]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        checks.one_of(value, "tool_choice", ("none", "auto", "required"))
        return
    choice = checks.obj(value, "tool_choice")
    kind = checks.string(*checks.required(choice, "type", "tool_choice"))
    if kind in ("function", "custom"):
        name = checks.string(*checks.required(choice, "name", "tool_choice"))
        if name not in names:
            raise WireError("tool_choice.name", f"names no tool in tools: {name!r}")
    elif kind == "allowed_tools":
        checks.one_of(choice.get("mode"), "tool_choice.mode", ("auto", "required"))
        for j, tool in enumerate(checks.array(*checks.required(choice, "tools", "tool_choice"), min_items=1)):
            p = f"tool_choice.tools[{j}]"
            checks.string(*checks.required(checks.obj(tool, p), "type", p))


def _validate_items(items: list[Any], *, chained: bool) -> None:
    """Check each item; calls and their outputs must pair up (an output may answer a call of the previous
    response when the request continues one)."""
    calls: dict[str, tuple[str, str]] = {}  # call_id -> (path of the call, its output type) not yet answered
    for i, item in enumerate(items):
        at = f"input[{i}]"
        kind = item_type(checks.obj(item, at))
        if item.get("type") is not None and not isinstance(item["type"], str):
            raise checks.wrong_type(f"{at}.type", "a string", item["type"])
        if kind == "message":
            _validate_message(item, at)
        elif kind in CALL_TYPES:
            call_id = checks.string(*checks.required(item, "call_id", at), non_empty=True)
            checks.string(*checks.required(item, "name", at), non_empty=True)
            checks.string(*checks.required(item, "arguments" if kind == "function_call" else "input", at))
            calls[call_id] = (at, CALL_TYPES[kind])
        elif kind in CALL_TYPES.values():
            call_id = checks.string(*checks.required(item, "call_id", at), non_empty=True)
            _validate_output(*checks.required(item, "output", at))
            pending = calls.pop(call_id, None)
            if pending is not None and pending[1] != kind:
                raise WireError(f"{at}.type", f"answers {pending[0]}, whose output must be a {pending[1]}")
            if pending is None and not chained:
                raise WireError(f"{at}.call_id", f"no tool call found for {kind} with call_id {call_id!r}")
        elif kind == "reasoning":
            _validate_reasoning_item(item, at)
        elif kind == "item_reference":
            checks.string(*checks.required(item, "id", at), non_empty=True)
    if calls:
        call_id, (at, output_type) = next(iter(calls.items()))
        raise WireError(at, f"no {output_type} found for the tool call with call_id {call_id!r}")


def _validate_message(item: dict[str, Any], at: str) -> None:
    role = checks.one_of(item.get("role"), f"{at}.role", ROLES)
    content, content_at = checks.required(item, "content", at)
    if isinstance(content, str):
        return
    allowed = ASSISTANT_PARTS if role == "assistant" else INPUT_PARTS
    for j, part in enumerate(checks.array(content, content_at)):
        _validate_part(part, f"{content_at}[{j}]", allowed)


def _validate_part(value: object, at: str, allowed: tuple[str, ...]) -> None:
    part = checks.obj(value, at)
    kind = checks.one_of(part.get("type"), f"{at}.type", allowed)
    if kind in ("input_text", "output_text"):
        checks.string(*checks.required(part, "text", at))
    elif kind == "refusal":
        checks.string(*checks.required(part, "refusal", at))
    elif kind == "input_image":
        if part.get("image_url") is None and part.get("file_id") is None:
            raise WireError(at, "an input_image needs image_url or file_id")
        for key in ("image_url", "file_id"):
            if (field := part.get(key)) is not None:
                checks.string(field, f"{at}.{key}", non_empty=True)
        if (detail := part.get("detail")) is not None:
            checks.one_of(detail, f"{at}.detail", IMAGE_DETAILS)
    else:
        present = [key for key in ("file_data", "file_id", "file_url") if part.get(key) is not None]
        if not present:
            raise WireError(at, "an input_file needs file_data, file_id or file_url")
        for key in present:
            checks.string(part[key], f"{at}.{key}", non_empty=True)
        if (filename := part.get("filename")) is not None:
            checks.string(filename, f"{at}.filename")


def _validate_output(output: object, at: str) -> None:
    if isinstance(output, str):
        return
    for j, part in enumerate(checks.array(output, at)):
        _validate_part(part, f"{at}[{j}]", INPUT_PARTS)


def _validate_reasoning_item(item: dict[str, Any], at: str) -> None:
    if (item_id := item.get("id")) is not None:
        checks.string(item_id, f"{at}.id")
    for j, part in enumerate(checks.array(*checks.required(item, "summary", at))):
        p = f"{at}.summary[{j}]"
        checks.one_of(checks.obj(part, p).get("type"), f"{p}.type", ("summary_text",))
        checks.string(*checks.required(part, "text", p))
    if (content := item.get("content")) is not None:
        for j, part in enumerate(checks.array(content, f"{at}.content")):
            p = f"{at}.content[{j}]"
            checks.one_of(checks.obj(part, p).get("type"), f"{p}.type", ("reasoning_text",))
            checks.string(*checks.required(part, "text", p))
    if (encrypted := item.get("encrypted_content")) is not None:
        checks.string(encrypted, f"{at}.encrypted_content")
