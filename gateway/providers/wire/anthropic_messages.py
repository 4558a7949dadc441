"""Validate an Anthropic Messages request (``POST /v1/messages``) and prepare one for an Anthropic upstream.

The rules are the ones Anthropic enforces: ``model``, ``max_tokens`` and ``messages`` required; only ``user``
and ``assistant`` roles (the system prompt is a top-level field); consecutive turns of one role count as one
turn, as Anthropic combines them; every ``tool_use`` of an assistant turn is answered by a ``tool_result`` in
the next turn, and every ``tool_result`` answers a ``tool_use`` of the turn before; only a final assistant
turn (a prefill) may be empty, and it may not end in whitespace. Unknown top-level fields are kept.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import checks, media
from gateway.providers.wire.errors import WireError

BLOCK_TYPES = ("text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking")
USER_ONLY = frozenset({"tool_result"})
ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking"})
IMAGE_MEDIA_TYPES = tuple(sorted(media.ANTHROPIC_IMAGE_TYPES))
ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def parse_request(body: bytes) -> dict[str, Any]:
    """Parse and validate a request body; the returned dict is the body itself, unknown fields included."""
    request = checks.parse_object(body)
    validate_request(request)
    return request


def validate_request(request: dict[str, Any]) -> None:
    checks.string(*checks.required(request, "model"), non_empty=True)
    request["max_tokens"] = checks.integer(*checks.required(request, "max_tokens"), minimum=1)
    messages = checks.array(*checks.required(request, "messages"), min_items=1)
    _validate_messages(messages)
    system = request.get("system")
    if system is not None and not isinstance(system, str):
        for j, block in enumerate(checks.array(system, "system")):
            checks.one_of(checks.obj(block, f"system[{j}]").get("type"), f"system[{j}].type", ("text",))
            checks.string(*checks.required(block, "text", f"system[{j}]"))
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
    if (value := request.get("thinking")) is not None:
        kind = checks.one_of(checks.obj(value, "thinking").get("type"), "thinking.type", ("enabled", "disabled"))
        if kind == "enabled":
            value["budget_tokens"] = checks.integer(*checks.required(value, "budget_tokens", "thinking"), minimum=1024)
    _validate_tools(request)


def prepare_upstream(request: dict[str, Any], upstream_model: str) -> bytes:
    """The body for an Anthropic upstream: the same request under the upstream's model name."""
    return orjson.dumps({**request, "model": upstream_model})


def _validate_messages(messages: list[Any]) -> None:
    turn_role = ""
    turn_tool_uses: set[str] = set()  # tool_use ids of the current assistant turn
    awaiting: set[str] = set()  # tool_use ids of the previous assistant turn not yet answered
    awaiting_at = ""
    last = len(messages) - 1
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        checks.obj(message, at)
        role = checks.one_of(message.get("role"), f"{at}.role", ("user", "assistant"))
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


def _unanswered(at: str, ids: set[str]) -> WireError:
    return WireError(
        at,
        "each tool_use block needs a tool_result block in the next message; unanswered: " + ", ".join(sorted(ids)),
    )


def _validate_block(value: object, at: str, role: str) -> None:
    block = checks.obj(value, at)
    kind = checks.one_of(block.get("type"), f"{at}.type", BLOCK_TYPES)
    if (kind in USER_ONLY and role != "user") or (kind in ASSISTANT_ONLY and role != "assistant"):
        raise WireError(f"{at}.type", f"a {kind} block cannot appear in a {role} message")
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
        checks.string(*checks.required(block, "tool_use_id", at), non_empty=True)
        content = block.get("content")
        if content is not None and not isinstance(content, str):
            for j, inner in enumerate(checks.array(content, f"{at}.content")):
                p = f"{at}.content[{j}]"
                inner_kind = checks.one_of(checks.obj(inner, p).get("type"), f"{p}.type", ("text", "image"))
                if inner_kind == "text":
                    checks.string(*checks.required(inner, "text", p))
                else:
                    _validate_image(inner, p)
        if (is_error := block.get("is_error")) is not None:
            checks.boolean(is_error, f"{at}.is_error")
    elif kind == "thinking":
        checks.string(*checks.required(block, "thinking", at))
        checks.string(*checks.required(block, "signature", at))
    else:
        checks.string(*checks.required(block, "data", at))


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
            name = checks.string(*checks.required(checks.obj(tool, p), "name", p))
            if not 1 <= len(name) <= 128 or not ID_CHARS.issuperset(name):
                raise WireError(f"{p}.name", "must be 1-128 characters of a-z, A-Z, 0-9, _ or -")
            names.add(name)
            kind = tool.get("type")
            if kind is None or kind == "custom":  # a client tool; others are Anthropic's server tools
                schema = checks.obj(*checks.required(tool, "input_schema", p))
                checks.one_of(schema.get("type"), f"{p}.input_schema.type", ("object",))
                if (description := tool.get("description")) is not None:
                    checks.string(description, f"{p}.description")
            else:
                checks.string(kind, f"{p}.type")
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
