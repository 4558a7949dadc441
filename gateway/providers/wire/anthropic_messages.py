"""Validate an Anthropic Messages request (``POST /v1/messages``, ``/count_tokens``) and prepare one for Anthropic.

The rules are Anthropic's: ``model``, ``max_tokens`` (not for counting) and ``messages`` required; ``user`` and
``assistant`` turns, with ``system`` messages anywhere between them (Claude Code sends its reminders so), which
take no part in the turns; consecutive messages of one role count as one turn; every ``tool_use`` of an
assistant turn is answered by a ``tool_result`` in the next turn and every ``tool_result`` answers one; only a
final assistant message (a prefill) may be empty, and it may not end in whitespace. The blocks and tools TokenHub
translates are checked field by field; other types (server tools and their result blocks, beta blocks) only for
a ``type``, so they reach Anthropic as sent. Unknown fields are kept: the body goes up unchanged but the model.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import checks, media
from gateway.providers.wire.errors import WireError

ROLES = ("user", "assistant", "system")
# the block types checked field by field (any other type only for having one, and left to Anthropic)
BLOCK_TYPES = ("text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking")
USER_ONLY = frozenset({"tool_result"})
ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking"})
IMAGE_MEDIA_TYPES = tuple(sorted(media.ANTHROPIC_IMAGE_TYPES))
ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("enabled", "disabled", "adaptive", "between_tools")
CLEAR_AT = ("next_user_message", "never")
CACHE_TTLS = ("5m", "1h")
MIN_THINKING_BUDGET = 1024


def parse_request(body: bytes, *, count_only: bool = False) -> dict[str, Any]:
    """Parse and validate a request body; the returned dict is the body itself, unknown fields included.

    ``count_only`` is for ``/v1/messages/count_tokens``, whose requests carry no ``max_tokens``.
    """
    request = checks.parse_object(body)
    validate_request(request, count_only=count_only)
    return request


def validate_request(request: dict[str, Any], *, count_only: bool = False) -> None:
    checks.string(*checks.required(request, "model"), non_empty=True)
    if not count_only or request.get("max_tokens") is not None:
        request["max_tokens"] = checks.integer(*checks.required(request, "max_tokens"), minimum=1)
    messages = checks.array(*checks.required(request, "messages"), min_items=1)
    _validate_messages(messages)
    system = request.get("system")
    if system is not None and not isinstance(system, str):
        for j, block in enumerate(checks.array(system, "system")):
            checks.one_of(checks.obj(block, f"system[{j}]").get("type"), f"system[{j}].type", ("text",))
            checks.string(*checks.required(block, "text", f"system[{j}]"))
            _cache_control(block, f"system[{j}]")
    if (value := request.get("temperature")) is not None:
        checks.number(value, "temperature", minimum=0, maximum=1)
    if (value := request.get("top_p")) is not None:
        checks.number(value, "top_p", minimum=0, maximum=1)
    if (value := request.get("top_k")) is not None:
        request["top_k"] = checks.integer(value, "top_k", minimum=0)
    if (value := request.get("stop_sequences")) is not None:
        for j, item in enumerate(checks.array(value, "stop_sequences")):
            checks.string(item, f"stop_sequences[{j}]")
    if (value := request.get("stream")) is not None:
        checks.boolean(value, "stream")
    if (value := request.get("metadata")) is not None:
        user_id = checks.obj(value, "metadata").get("user_id")
        if user_id is not None:
            checks.string(user_id, "metadata.user_id")
    _validate_settings(request)
    _cache_control(request, "")
    _validate_tools(request)


def prepare_upstream(request: dict[str, Any], upstream_model: str) -> bytes:
    """The body for an Anthropic upstream: the same request under the upstream's model name."""
    return orjson.dumps({**request, "model": upstream_model})


def _validate_settings(request: dict[str, Any]) -> None:
    """``thinking``, ``output_config`` and ``context_management``."""
    if (value := request.get("thinking")) is not None:
        kind = checks.one_of(checks.obj(value, "thinking").get("type"), "thinking.type", THINKING_TYPES)
        if kind == "enabled":
            value["budget_tokens"] = checks.integer(
                *checks.required(value, "budget_tokens", "thinking"), minimum=MIN_THINKING_BUDGET
            )
        if (display := value.get("display")) is not None:  # summarized, omitted, and newer ones under betas
            checks.string(display, "thinking.display", non_empty=True)
    if (value := request.get("output_config")) is not None:
        _output_config(value, "output_config")
        fmt = value.get("format")
        if fmt is not None:
            checks.one_of(
                checks.obj(fmt, "output_config.format").get("type"), "output_config.format.type", ("json_schema",)
            )
            checks.obj(*checks.required(fmt, "schema", "output_config.format"))
    if (value := request.get("context_management")) is not None:
        edits = checks.obj(value, "context_management").get("edits")
        if edits is not None:
            for j, edit in enumerate(checks.array(edits, "context_management.edits")):
                p = f"context_management.edits[{j}]"
                checks.string(*checks.required(checks.obj(edit, p), "type", p), non_empty=True)


def _output_config(value: object, at: str) -> None:
    effort = checks.obj(value, at).get("effort")
    if effort is not None:
        checks.one_of(effort, f"{at}.effort", EFFORTS)


def _cache_control(container: dict[str, Any], at: str) -> None:
    """A cache breakpoint, wherever one may stand: ``{"type": "ephemeral"}`` with an optional ``ttl``."""
    value = container.get("cache_control")
    if value is None:
        return
    p = checks.join(at, "cache_control")
    checks.one_of(checks.obj(value, p).get("type"), f"{p}.type", ("ephemeral",))
    if (ttl := value.get("ttl")) is not None:
        checks.one_of(ttl, f"{p}.ttl", CACHE_TTLS)


def _validate_messages(messages: list[Any]) -> None:
    turn_role = ""
    turn_tool_uses: set[str] = set()  # tool_use ids of the current assistant turn
    awaiting: set[str] = set()  # tool_use ids of the previous assistant turn not yet answered
    awaiting_at = ""
    last = len(messages) - 1
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        checks.obj(message, at)
        role = checks.one_of(message.get("role"), f"{at}.role", ROLES)
        if role == "system":  # instructions in place; the turns around it go on as if it were not there
            _validate_system_message(message, at)
            continue
        if role != turn_role:  # a new turn starts
            if awaiting:
                raise _unanswered(awaiting_at, awaiting)
            if role == "user":
                awaiting, awaiting_at = turn_tool_uses, at
            else:
                awaiting, turn_tool_uses = set(), set()
            turn_role = role
        content, content_at = checks.required(message, "content", at)
        final_prefill = i == last and role == "assistant"
        if isinstance(content, str):
            if final_prefill:
                if content != content.rstrip():
                    raise WireError(content_at, "the final assistant content cannot end with trailing whitespace")
            elif not content:
                raise WireError(content_at, "must not be empty (only a final assistant message may be)")
            continue
        blocks = checks.array(content, content_at, min_items=0 if final_prefill else 1)
        for j, block in enumerate(blocks):
            _validate_block(block, f"{content_at}[{j}]", role)
            kind = block["type"]
            if kind == "tool_use":
                turn_tool_uses.add(block["id"])
            elif kind == "tool_result":
                answered = block["tool_use_id"]
                if answered not in awaiting:
                    raise WireError(
                        f"{content_at}[{j}].tool_use_id",
                        f"{answered!r} answers no tool_use of the previous assistant turn",
                    )
                awaiting.discard(answered)
    if awaiting:
        raise _unanswered(awaiting_at, awaiting)
    if not turn_role:
        raise WireError("messages", "needs a user or assistant message, not only system messages")


def _unanswered(at: str, ids: set[str]) -> WireError:
    return WireError(
        at,
        "each tool_use block needs a tool_result block in the next message; unanswered: " + ", ".join(sorted(ids)),
    )


def _validate_system_message(message: dict[str, Any], at: str) -> None:
    """Text (or beta tool-change blocks), its own ``output_config`` (effort only) and ``clear_at``."""
    config = message.get("output_config")
    if config is not None:
        _output_config(config, f"{at}.output_config")
        if config.get("format") is not None:
            raise WireError(f"{at}.output_config.format", "an output format is set for the whole request only")
    if (clear_at := message.get("clear_at")) is not None:
        checks.one_of(clear_at, f"{at}.clear_at", CLEAR_AT)
    content = message.get("content")
    if content is None:
        if config is None:
            raise WireError(f"{at}.content", "is required (a system message needs content or an output_config)")
        return
    if isinstance(content, str):
        checks.string(content, f"{at}.content", non_empty=True)
        return
    for j, value in enumerate(checks.array(content, f"{at}.content", min_items=1)):
        p = f"{at}.content[{j}]"
        block = checks.obj(value, p)
        if checks.string(*checks.required(block, "type", p), non_empty=True) == "text":
            checks.string(*checks.required(block, "text", p), non_empty=True)
        _cache_control(block, p)


def _validate_block(value: object, at: str, role: str) -> None:
    block = checks.obj(value, at)
    kind = checks.string(*checks.required(block, "type", at), non_empty=True)
    if (kind in USER_ONLY and role != "user") or (kind in ASSISTANT_ONLY and role != "assistant"):
        raise WireError(f"{at}.type", f"a {kind} block cannot appear in a {role} message")
    _cache_control(block, at)
    if kind == "text":
        checks.string(*checks.required(block, "text", at), non_empty=True)
    elif kind == "image":
        _validate_image(block, at)
    elif kind == "document":
        checks.obj(*checks.required(block, "source", at))
    elif kind == "tool_use":
        tool_id = checks.string(*checks.required(block, "id", at), non_empty=True)
        if not ID_CHARS.issuperset(tool_id):
            raise WireError(f"{at}.id", "must match ^[a-zA-Z0-9_-]+$")
        checks.string(*checks.required(block, "name", at), non_empty=True)
        checks.obj(*checks.required(block, "input", at))
    elif kind == "tool_result":
        _validate_tool_result(block, at)
    elif kind == "thinking":  # empty text when display is omitted; the signature goes back as it came
        checks.string(*checks.required(block, "thinking", at))
        checks.string(*checks.required(block, "signature", at))
    elif kind == "redacted_thinking":
        checks.string(*checks.required(block, "data", at))
    # any other type than BLOCK_TYPES (server tool use and results, search results, beta blocks) is Anthropic's


def _validate_tool_result(block: dict[str, Any], at: str) -> None:
    checks.string(*checks.required(block, "tool_use_id", at), non_empty=True)
    content = block.get("content")
    if content is not None and not isinstance(content, str):
        for j, inner in enumerate(checks.array(content, f"{at}.content")):
            p = f"{at}.content[{j}]"
            inner_kind = checks.string(*checks.required(checks.obj(inner, p), "type", p), non_empty=True)
            if inner_kind == "text":
                checks.string(*checks.required(inner, "text", p))
            elif inner_kind == "image":
                _validate_image(inner, p)
            elif inner_kind in ASSISTANT_ONLY | USER_ONLY:
                raise WireError(f"{p}.type", f"a {inner_kind} block cannot appear in a tool result")
            _cache_control(inner, p)
    if (is_error := block.get("is_error")) is not None:
        checks.boolean(is_error, f"{at}.is_error")


def _validate_image(block: dict[str, Any], at: str) -> None:
    source = checks.obj(*checks.required(block, "source", at))
    kind = checks.one_of(source.get("type"), f"{at}.source.type", ("base64", "url", "file"))
    if kind == "base64":
        checks.one_of(source.get("media_type"), f"{at}.source.media_type", IMAGE_MEDIA_TYPES)
        checks.string(*checks.required(source, "data", f"{at}.source"), non_empty=True)
    elif kind == "url":
        checks.string(*checks.required(source, "url", f"{at}.source"), non_empty=True)
    else:
        checks.string(*checks.required(source, "file_id", f"{at}.source"), non_empty=True)


def _validate_tools(request: dict[str, Any]) -> None:
    tools = request.get("tools")
    names: set[str] = set()
    if tools is not None:
        for j, tool in enumerate(checks.array(tools, "tools")):
            p = f"tools[{j}]"
            checks.obj(tool, p)
            kind = tool.get("type")
            if kind is None or kind == "custom":  # a client tool
                name = checks.string(*checks.required(tool, "name", p))
                if not 1 <= len(name) <= 128 or not ID_CHARS.issuperset(name):
                    raise WireError(f"{p}.name", "must be 1-128 characters of a-z, A-Z, 0-9, _ or -")
                schema = checks.obj(*checks.required(tool, "input_schema", p))
                checks.one_of(schema.get("type"), f"{p}.input_schema.type", ("object",))
                if (description := tool.get("description")) is not None:
                    checks.string(description, f"{p}.description")
            else:  # one of Anthropic's server tools or toolsets (some have no name)
                checks.string(kind, f"{p}.type", non_empty=True)
                name = checks.string(tool["name"], f"{p}.name") if tool.get("name") is not None else ""
            for flag in ("defer_loading", "strict"):
                if (value := tool.get(flag)) is not None:
                    checks.boolean(value, f"{p}.{flag}")
            _cache_control(tool, p)
            if name and name in names:
                raise WireError(f"{p}.name", f"tool names must be unique; {name!r} is repeated")
            names.add(name)
    choice = request.get("tool_choice")
    if choice is None:
        return
    kind = checks.one_of(
        checks.obj(choice, "tool_choice").get("type"), "tool_choice.type", ("auto", "any", "tool", "none")
    )
    if kind == "tool":
        name = checks.string(*checks.required(choice, "name", "tool_choice"))
        if name not in names:
            raise WireError("tool_choice.name", f"names no tool in tools: {name!r}")
    if (value := choice.get("disable_parallel_tool_use")) is not None:
        checks.boolean(value, "tool_choice.disable_parallel_tool_use")
