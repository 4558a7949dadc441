"""Validate an OpenAI Chat Completions request, and prepare one for an OpenAI-compatible upstream.

Validation follows the rules OpenAI itself enforces, with each failure naming the field path OpenAI would
(``messages[2].content``). Fields it does not know are kept: OpenAI-compatible upstreams receive them as sent
(``response_format``, ``seed``, ``logprobs``...), so a new OpenAI parameter works without a change here.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import checks
from gateway.providers.wire.errors import WireError

ROLES = ("system", "developer", "user", "assistant", "tool")
TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
USER_PART_TYPES = ("text", "image_url", "input_audio", "file")
MAX_STOP_SEQUENCES = 4


def parse_request(body: bytes) -> dict[str, Any]:
    """Parse and validate a request body; the returned dict is the body itself, unknown fields included."""
    request = checks.parse_object(body)
    validate_request(request)
    return request


def validate_request(request: dict[str, Any]) -> None:
    checks.string(*checks.required(request, "model"), non_empty=True)
    messages = checks.array(*checks.required(request, "messages"), min_items=1)
    _validate_messages(messages)
    _validate_sampling(request)
    _validate_tools(request)
    stream = request.get("stream")
    if stream is not None:
        checks.boolean(stream, "stream")
    options = request.get("stream_options")
    if options is not None:
        if not stream:
            raise WireError("stream_options", "is only allowed when stream is true")
        include = checks.obj(options, "stream_options").get("include_usage")
        if include is not None:
            checks.boolean(include, "stream_options.include_usage")
    fmt = request.get("response_format")
    if fmt is not None:
        kind = checks.one_of(
            checks.obj(fmt, "response_format").get("type"),
            "response_format.type",
            ("text", "json_object", "json_schema"),
        )
        if kind == "json_schema":
            schema = checks.obj(*checks.required(fmt, "json_schema", "response_format"))
            checks.string(*checks.required(schema, "name", "response_format.json_schema"))
    user = request.get("user")
    if user is not None:
        checks.string(user, "user")


def prepare_upstream(request: dict[str, Any], upstream_model: str) -> bytes:
    """The body for an OpenAI-compatible upstream: its own model name, and usage always reported on streams.

    ``stream_options.include_usage`` is forced on so that a streamed answer is charged from the upstream's own
    count. A client that did not ask for usage (``wants_usage``) should not be sent the extra final chunk
    (``is_usage_chunk``): its empty ``choices`` trips clients that read ``choices[0]`` of every chunk.
    """
    body = dict(request)
    body["model"] = upstream_model
    if body.get("stream"):
        options = body.get("stream_options")
        body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return orjson.dumps(body)


def wants_usage(request: dict[str, Any]) -> bool:
    """Whether the client asked for the final usage chunk of a stream."""
    options = request.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def is_usage_chunk(chunk: dict[str, Any]) -> bool:
    """Whether a stream chunk is the usage-only one ``include_usage`` adds (no choices, a usage object)."""
    return not chunk.get("choices") and isinstance(chunk.get("usage"), dict)


def _validate_messages(messages: list[Any]) -> None:
    pending: set[str] = set()  # tool_call ids of the last assistant turn still waiting for their tool message
    pending_at = ""
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        checks.obj(message, at)
        role = checks.one_of(message.get("role"), f"{at}.role", ROLES)
        if role != "tool" and pending:
            raise WireError(
                pending_at,
                "an assistant message with tool_calls must be followed by tool messages answering each "
                f"tool_call_id; missing: {', '.join(sorted(pending))}",
            )
        if role in ("system", "developer"):
            _text_content(*checks.required(message, "content", at))
        elif role == "user":
            _user_content(*checks.required(message, "content", at))
        elif role == "assistant":
            pending = _assistant(message, at)
            pending_at = at
        else:
            call_id = checks.string(*checks.required(message, "tool_call_id", at))
            if call_id not in pending:
                raise WireError(
                    f"{at}.tool_call_id",
                    f"{call_id!r} answers no tool_call of the preceding assistant message",
                )
            pending.discard(call_id)
            _text_content(*checks.required(message, "content", at))
        name = message.get("name")
        if name is not None:
            checks.string(name, f"{at}.name")


def _text_content(content: object, at: str) -> None:
    if isinstance(content, str):
        return
    for j, part in enumerate(checks.array(content, at, min_items=1)):
        checks.one_of(checks.obj(part, f"{at}[{j}]").get("type"), f"{at}[{j}].type", ("text",))
        checks.string(*checks.required(part, "text", f"{at}[{j}]"))


def _user_content(content: object, at: str) -> None:
    if isinstance(content, str):
        return
    for j, part in enumerate(checks.array(content, at, min_items=1)):
        p = f"{at}[{j}]"
        kind = checks.one_of(checks.obj(part, p).get("type"), f"{p}.type", USER_PART_TYPES)
        if kind == "text":
            checks.string(*checks.required(part, "text", p))
        elif kind == "image_url":
            image = checks.obj(*checks.required(part, "image_url", p))
            checks.string(*checks.required(image, "url", f"{p}.image_url"), non_empty=True)
            detail = image.get("detail")
            if detail is not None:
                checks.one_of(detail, f"{p}.image_url.detail", ("auto", "low", "high"))
        elif kind == "input_audio":
            audio = checks.obj(*checks.required(part, "input_audio", p))
            checks.string(*checks.required(audio, "data", f"{p}.input_audio"))
            checks.string(*checks.required(audio, "format", f"{p}.input_audio"))
        else:
            file = checks.obj(*checks.required(part, "file", p))
            if file.get("file_data") is None and file.get("file_id") is None:
                raise WireError(f"{p}.file", "needs file_data or file_id")


def _assistant(message: dict[str, Any], at: str) -> set[str]:
    """Check an assistant message; return the ids of its tool calls."""
    content = message.get("content")
    calls = message.get("tool_calls")
    refusal = message.get("refusal")
    if refusal is not None:
        checks.string(refusal, f"{at}.refusal")
    if content is None and not calls and refusal is None:
        raise WireError(f"{at}.content", "an assistant message needs content or tool_calls")
    if content is not None and not isinstance(content, str):
        for j, part in enumerate(checks.array(content, f"{at}.content")):
            p = f"{at}.content[{j}]"
            kind = checks.one_of(checks.obj(part, p).get("type"), f"{p}.type", ("text", "refusal"))
            checks.string(*checks.required(part, kind, p))
    ids: set[str] = set()
    if calls is None:
        return ids
    for j, call in enumerate(checks.array(calls, f"{at}.tool_calls")):
        p = f"{at}.tool_calls[{j}]"
        checks.obj(call, p)
        ids.add(checks.string(*checks.required(call, "id", p), non_empty=True))
        checks.one_of(call.get("type", "function"), f"{p}.type", ("function",))
        function = checks.obj(*checks.required(call, "function", p))
        checks.string(*checks.required(function, "name", f"{p}.function"), non_empty=True)
        checks.string(*checks.required(function, "arguments", f"{p}.function"))
    return ids


def _validate_sampling(request: dict[str, Any]) -> None:
    for key in ("max_tokens", "max_completion_tokens"):
        if (value := request.get(key)) is not None:
            request[key] = checks.integer(value, key, minimum=1)
    if (n := request.get("n")) is not None:
        request["n"] = checks.integer(n, "n", minimum=1)
        if request["n"] > 1:
            raise WireError("n", "only n=1 is supported")
    if (value := request.get("temperature")) is not None:
        checks.number(value, "temperature", minimum=0, maximum=2)
    if (value := request.get("top_p")) is not None:
        checks.number(value, "top_p", minimum=0, maximum=1)
    for key in ("presence_penalty", "frequency_penalty"):
        if (value := request.get(key)) is not None:
            checks.number(value, key, minimum=-2, maximum=2)
    if (value := request.get("seed")) is not None:
        request["seed"] = checks.integer(value, "seed")
    logprobs = request.get("logprobs")
    if logprobs is not None:
        checks.boolean(logprobs, "logprobs")
    if (value := request.get("top_logprobs")) is not None:
        request["top_logprobs"] = checks.integer(value, "top_logprobs", minimum=0, maximum=20)
        if not logprobs:
            raise WireError("top_logprobs", "requires logprobs to be true")
    stop = request.get("stop")
    if stop is not None and not isinstance(stop, str):
        for j, item in enumerate(checks.array(stop, "stop", max_items=MAX_STOP_SEQUENCES)):
            checks.string(item, f"stop[{j}]")


def _validate_tools(request: dict[str, Any]) -> None:
    tools = request.get("tools")
    names: set[str] = set()
    if tools is not None:
        for j, tool in enumerate(checks.array(tools, "tools")):
            p = f"tools[{j}]"
            kind = checks.one_of(checks.obj(tool, p).get("type"), f"{p}.type", ("function", "custom"))
            spec = checks.obj(*checks.required(tool, kind, p))
            name = checks.string(*checks.required(spec, "name", f"{p}.{kind}"))
            if not 1 <= len(name) <= 64 or not TOOL_NAME_CHARS.issuperset(name):
                raise WireError(f"{p}.{kind}.name", "must be 1-64 characters of a-z, A-Z, 0-9, _ or -")
            names.add(name)
            if (description := spec.get("description")) is not None:
                checks.string(description, f"{p}.{kind}.description")
            if kind == "function" and (parameters := spec.get("parameters")) is not None:
                checks.obj(parameters, f"{p}.function.parameters")
    choice = request.get("tool_choice")
    if choice is not None:
        if not tools:
            raise WireError("tool_choice", "is only allowed when tools are given")
        if isinstance(choice, str):
            checks.one_of(choice, "tool_choice", ("none", "auto", "required"))
        else:
            checks.one_of(checks.obj(choice, "tool_choice").get("type"), "tool_choice.type", ("function",))
            function = checks.obj(*checks.required(choice, "function", "tool_choice"))
            name = checks.string(*checks.required(function, "name", "tool_choice.function"))
            if name not in names:
                raise WireError("tool_choice.function.name", f"names no tool in tools: {name!r}")
    if (parallel := request.get("parallel_tool_calls")) is not None:
        checks.boolean(parallel, "parallel_tool_calls")
