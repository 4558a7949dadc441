"""What today's Anthropic clients send (Claude Code's system-role messages, adaptive thinking, effort, cache
breakpoints everywhere, server tools and their blocks) validates, and goes to Anthropic unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import anthropic_messages
from gateway.providers.wire.errors import WireError
from tests.unit.gateway.providers.wire import strategies

CACHE = {"type": "ephemeral"}
USE = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt", "is_error": False}
THINKING = {"type": "thinking", "thinking": "", "signature": "EqQBCkYIBxgCKkD+/=="}
SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {}}


def body(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-opus-5-5", "max_tokens": 32000, "messages": list(items), **fields}


def user(content: Any = "hi") -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def system(content: Any = "<system-reminder>x</system-reminder>", **fields: Any) -> dict[str, Any]:
    return {"role": "system", "content": content, **fields}


VALID: list[tuple[str, dict[str, Any]]] = [
    (
        "a system message last, as blocks with a cache breakpoint",
        body(user(), system([{"type": "text", "text": "r", "cache_control": CACHE}])),
    ),
    ("a system message with its own effort", body(user(), system("r", output_config={"effort": "medium"}))),
    (
        "a system message with only an output_config",
        body(user(), {"role": "system", "output_config": {"effort": "low"}}),
    ),
    (
        "a system message cleared at the next user message",
        body(user(), system(clear_at="next_user_message"), user("more")),
    ),
    ("a system message first", body(system(), user())),
    ("a system message between a tool_use and its result", body(user(), assistant([USE]), system(), user([RESULT]))),
    (
        "a system message with beta tool-change blocks",
        body(user(), system([{"type": "tool_addition", "tool": {"name": "X"}}])),
    ),
    ("adaptive thinking with display omitted", body(user(), thinking={"type": "adaptive", "display": "omitted"})),
    ("adaptive thinking without display", body(user(), thinking={"type": "adaptive"})),
    (
        "adaptive thinking with a display from a newer beta",
        body(user(), thinking={"type": "adaptive", "display": "updates"}),
    ),
    (
        "budgeted thinking with display",
        body(user(), thinking={"type": "enabled", "budget_tokens": 31999, "display": "omitted"}),
    ),
    ("thinking between tools", body(user(), thinking={"type": "between_tools"})),
    ("thinking disabled", body(user(), thinking={"type": "disabled"})),
    ("empty thinking with a signature sent back", body(user(), assistant([THINKING, USE]), user([RESULT]))),
    (
        "redacted thinking sent back",
        body(user(), assistant([{"type": "redacted_thinking", "data": "EmwKAhgB"}, USE]), user([RESULT])),
    ),
    ("effort at the top", body(user(), output_config={"effort": "xhigh"})),
    ("an output format", body(user(), output_config={"format": {"type": "json_schema", "schema": SCHEMA}})),
    (
        "context management edits",
        body(user(), context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}),
    ),
    ("a top-level cache breakpoint with a ttl", body(user(), cache_control={"type": "ephemeral", "ttl": "1h"})),
    (
        "cache breakpoints on system blocks",
        body(user(), system=[{"type": "text", "text": "You are", "cache_control": CACHE}]),
    ),
    (
        "a cache breakpoint on a tool_result and inside it",
        body(
            user(),
            assistant([USE]),
            user(
                [RESULT | {"cache_control": CACHE, "content": [{"type": "text", "text": "x", "cache_control": CACHE}]}]
            ),
        ),
    ),
    ("a cache breakpoint on a tool_use", body(user(), assistant([USE | {"cache_control": CACHE}]), user([RESULT]))),
    ("metadata.user_id as a JSON string", body(user(), metadata={"user_id": '{"device_id":"d","session_id":"s"}'})),
    (
        "a client tool with $schema and defer_loading",
        body(user(), tools=[{"name": "DeferredToolPlaceholder", "defer_loading": True, "input_schema": SCHEMA}]),
    ),
    (
        "a server tool",
        body(
            user(), tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3, "cache_control": CACHE}]
        ),
    ),
    ("a toolset without a name", body(user(), tools=[{"type": "computer_toolset_20260801"}])),
    (
        "server tool blocks in the history",
        body(
            user(),
            assistant(
                [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                ]
            ),
            user("thanks"),
        ),
    ),
    (
        "a search result and a tool reference in a tool result",
        body(
            user(),
            assistant([USE]),
            user(
                [
                    RESULT
                    | {
                        "content": [
                            {"type": "tool_reference", "tool_name": "Read"},
                            {"type": "search_result", "source": "s", "title": "t", "content": []},
                        ]
                    }
                ]
            ),
        ),
    ),
]


@pytest.mark.parametrize("request_body", [b for _, b in VALID], ids=[n for n, _ in VALID])
def test_what_anthropic_accepts_validates_and_goes_up_unchanged(request_body: dict[str, Any]) -> None:
    raw = orjson.dumps(request_body)
    parsed = anthropic_messages.parse_request(raw)
    assert parsed == request_body
    assert anthropic_messages.prepare_upstream(parsed, "claude-opus-5-5-20260801") == orjson.dumps(
        request_body | {"model": "claude-opus-5-5-20260801"}
    )


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "a system message with neither content nor output_config",
        body(user(), {"role": "system"}),
        "messages[1].content",
    ),
    ("an empty system message", body(user(), system("")), "messages[1].content"),
    ("an empty system block list", body(user(), system([])), "messages[1].content"),
    ("an empty system text block", body(user(), system([{"type": "text", "text": ""}])), "messages[1].content[0].text"),
    ("a system block without a type", body(user(), system([{"text": "x"}])), "messages[1].content[0].type"),
    (
        "an unknown effort on a system message",
        body(user(), system(output_config={"effort": "huge"})),
        "messages[1].output_config.effort",
    ),
    (
        "an output format on a system message",
        body(user(), system(output_config={"format": {}})),
        "messages[1].output_config.format",
    ),
    ("an unknown clear_at", body(user(), system(clear_at="later")), "messages[1].clear_at"),
    ("an unknown thinking type", body(user(), thinking={"type": "deep"}), "thinking.type"),
    (
        "a thinking display that is no string",
        body(user(), thinking={"type": "adaptive", "display": 1}),
        "thinking.display",
    ),
    ("budgeted thinking without a budget", body(user(), thinking={"type": "enabled"}), "thinking.budget_tokens"),
    ("an unknown effort", body(user(), output_config={"effort": "extreme"}), "output_config.effort"),
    (
        "an output format of an unknown type",
        body(user(), output_config={"format": {"type": "regex"}}),
        "output_config.format.type",
    ),
    (
        "an output format without a schema",
        body(user(), output_config={"format": {"type": "json_schema"}}),
        "output_config.format.schema",
    ),
    ("context edits not a list", body(user(), context_management={"edits": {}}), "context_management.edits"),
    (
        "a context edit without a type",
        body(user(), context_management={"edits": [{"keep": "all"}]}),
        "context_management.edits[0].type",
    ),
    (
        "a cache breakpoint of an unknown type",
        body(user(), system=[{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]),
        "system[0].cache_control.type",
    ),
    (
        "a cache breakpoint with an unknown ttl",
        body(user([{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1d"}}])),
        "messages[0].content[0].cache_control.ttl",
    ),
    (
        "a cache breakpoint that is no object",
        body(user(), tools=[{"name": "f", "input_schema": SCHEMA, "cache_control": True}]),
        "tools[0].cache_control",
    ),
    (
        "a top-level cache breakpoint of an unknown type",
        body(user(), cache_control={"type": "x"}),
        "cache_control.type",
    ),
    (
        "defer_loading that is no boolean",
        body(user(), tools=[{"name": "f", "input_schema": SCHEMA, "defer_loading": "yes"}]),
        "tools[0].defer_loading",
    ),
    (
        "two tools of one name",
        body(user(), tools=[{"name": "f", "input_schema": SCHEMA}, {"type": "web_search_20250305", "name": "f"}]),
        "tools[1].name",
    ),
    ("a server tool with an empty type", body(user(), tools=[{"type": "", "name": "f"}]), "tools[0].type"),
    (
        "thinking in a tool result",
        body(user(), assistant([USE]), user([RESULT | {"content": [THINKING]}])),
        "messages[2].content[0].content[0].type",
    ),
    ("thinking in a user message", body(user([THINKING])), "messages[0].content[0].type"),
    (
        "a thinking block without its signature",
        body(user(), assistant([{"type": "thinking", "thinking": "x"}])),
        "messages[1].content[0].signature",
    ),
    (
        "a tool_use still unanswered after a system message",
        body(user(), assistant([USE]), system(), user("next")),
        "messages[3]",
    ),
]


@pytest.mark.parametrize(("request_body", "param"), [(b, p) for _, b, p in INVALID], ids=[n for n, _, _ in INVALID])
def test_what_anthropic_refuses_is_refused_naming_the_field(request_body: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as caught:
        anthropic_messages.validate_request(request_body)
    assert caught.value.param == param


def test_a_count_tokens_request_needs_no_max_tokens_but_a_message_request_does() -> None:
    counted = {"model": "claude-opus-5-5", "messages": [user()]}
    anthropic_messages.validate_request(counted, count_only=True)
    with pytest.raises(WireError) as caught:
        anthropic_messages.validate_request(counted)
    assert caught.value.param == "max_tokens"
    with pytest.raises(WireError) as caught:
        anthropic_messages.parse_request(orjson.dumps(counted | {"max_tokens": 0}), count_only=True)
    assert caught.value.param == "max_tokens"


CHECKED_FIELDS = frozenset(
    {"model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences", "stream"}
    | {"metadata", "thinking", "output_config", "context_management", "cache_control", "tools", "tool_choice"}
)
CONVERSATION = [user("go"), assistant([THINKING, USE]), user([RESULT]), assistant("done."), user("again")]


@given(
    positions=st.lists(st.integers(0, len(CONVERSATION)), max_size=6),
    as_blocks=st.booleans(),
)
def test_system_messages_anywhere_leave_a_valid_conversation_valid(positions: list[int], as_blocks: bool) -> None:
    reminder = system([{"type": "text", "text": "r", "cache_control": CACHE}] if as_blocks else "r")
    items = list(CONVERSATION)
    for position in sorted(positions, reverse=True):
        items.insert(position, reminder)
    anthropic_messages.validate_request(body(*items))


@given(extra=strategies.json_objects, block_extra=strategies.json_objects)
def test_unknown_fields_anywhere_reach_anthropic_as_sent(extra: dict[str, Any], block_extra: dict[str, Any]) -> None:
    known = body(*CONVERSATION)
    request_body = {**{k: v for k, v in extra.items() if k not in CHECKED_FIELDS}, **known}
    request_body["messages"][0] = user([{**block_extra, "type": "text", "text": "go"}])
    raw = orjson.dumps(request_body)
    parsed = anthropic_messages.parse_request(raw)
    assert orjson.loads(anthropic_messages.prepare_upstream(parsed, "up")) == orjson.loads(raw) | {"model": "up"}
    assert anthropic_messages.prepare_upstream(parsed, request_body["model"]) == raw


@pytest.mark.parametrize("kind", anthropic_messages.BLOCK_TYPES)
def test_the_checked_block_types_are_refused_without_their_fields_and_others_pass_as_they_are(kind: str) -> None:
    role = "assistant" if kind in anthropic_messages.ASSISTANT_ONLY else "user"
    bare: list[dict[str, Any]] = [user(), {"role": role, "content": [{"type": kind}]}, user("go on")]
    if role == "user":
        bare = bare[1:]
    with pytest.raises(WireError) as caught:
        anthropic_messages.validate_request(body(*bare))
    assert caught.value.param.startswith(f"messages[{len(bare) - 2}].content[0].")
    anthropic_messages.validate_request(body(user([{"type": f"{kind}_of_a_newer_beta"}])))
