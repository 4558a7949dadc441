"""Today's Anthropic requests to an OpenAI-shaped upstream: system messages in place, effort, what is dropped and
what is refused. Every translation is checked by the Chat Completions validator."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import anthropic_messages, anthropic_to_openai, openai_chat
from gateway.providers.wire.errors import Untranslatable

CACHE = {"type": "ephemeral"}
USE = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
USE2 = {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "pwd"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt", "is_error": False}
RESULT2 = {"type": "tool_result", "tool_use_id": "toolu_2", "content": "/"}
THINKING = {"type": "thinking", "thinking": "", "signature": "EqQBCkYIBxgCKkD+/=="}
SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {}}


def body(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-opus-5-5", "max_tokens": 32000, "messages": list(items), **fields}


def user(content: Any = "hi") -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def system(content: Any = "reminder", **fields: Any) -> dict[str, Any]:
    return {"role": "system", "content": content, **fields}


def translate(request_body: dict[str, Any], **options: Any) -> dict[str, Any]:
    anthropic_messages.validate_request(request_body)
    out = anthropic_to_openai.request(request_body, **options)
    openai_chat.validate_request(out)  # every translation is a request OpenAI's rules accept
    return out


def shape(out: dict[str, Any]) -> list[str]:
    """The roles in order, with tool messages and tool calls marked."""
    return [m["role"] + ("+calls" if m.get("tool_calls") else "") for m in out["messages"]]


def test_a_system_message_stays_where_it_stood_and_may_end_the_conversation() -> None:
    out = translate(body(user(), system([{"type": "text", "text": "reminder", "cache_control": CACHE}])))
    assert out["messages"] == [{"role": "user", "content": "hi"}, {"role": "system", "content": "reminder"}]
    out = translate(body(user(), system("one"), assistant("ok."), system(), user("next")))
    assert shape(out) == ["user", "system", "assistant", "system", "user"]


def test_a_system_message_of_several_blocks_keeps_them_as_text_parts() -> None:
    out = translate(body(user(), system([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])))
    assert out["messages"][1] == {
        "role": "system",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }


def test_a_system_message_cleared_at_the_next_user_message_is_not_shown_once_one_follows() -> None:
    cleared = system("only for this turn", clear_at="next_user_message")
    assert shape(translate(body(user(), cleared))) == ["user", "system"]
    assert shape(translate(body(user(), cleared, assistant("ok."), user("next")))) == ["user", "assistant", "user"]


def test_a_system_message_between_a_tool_use_and_its_result_waits_for_the_tool_message() -> None:
    out = translate(body(user(), assistant([USE]), system("mind the sandbox"), user([RESULT])))
    assert shape(out) == ["user", "assistant+calls", "tool", "system"]


def test_tool_results_in_a_second_user_message_still_follow_their_call() -> None:
    out = translate(body(user(), assistant([USE, USE2]), user([RESULT]), user("and"), user([RESULT2])))
    assert shape(out) == ["user", "assistant+calls", "tool", "tool", "user"]
    assert out["messages"][-1] == {"role": "user", "content": "and"}


def test_consecutive_assistant_messages_become_one() -> None:
    out = translate(body(user(), assistant([USE]), assistant("Running it."), user([RESULT])))
    assert shape(out) == ["user", "assistant+calls", "tool"]
    assert out["messages"][1]["content"] == "Running it."


def test_thinking_is_dropped_and_an_assistant_message_of_thinking_only_vanishes() -> None:
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgB"}
    said = {"type": "thinking", "thinking": "Let me list.", "signature": "sig"}
    out = translate(body(user(), assistant([THINKING, said, redacted]), assistant([USE]), user([RESULT])))
    assert shape(out) == ["user", "assistant+calls", "tool"]
    assert out["messages"][1]["content"] is None


def test_claude_codes_billing_header_block_is_not_sent_to_other_upstreams() -> None:
    blocks = [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.bb9; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are a coding agent.", "cache_control": CACHE},
    ]
    out = translate(body(user(), system=blocks))
    assert out["messages"][0] == {"role": "system", "content": "You are a coding agent."}
    assert len(out["messages"]) == 2


@pytest.mark.parametrize(
    ("fields", "messages", "expected"),
    [
        ({"output_config": {"effort": "low"}}, [], "low"),
        ({"output_config": {"effort": "medium"}}, [], "medium"),
        ({"output_config": {"effort": "high"}}, [], "high"),
        ({"output_config": {"effort": "xhigh"}}, [], "high"),
        ({"output_config": {"effort": "max"}}, [], "high"),
        ({"output_config": {"effort": "low"}, "thinking": {"type": "enabled", "budget_tokens": 30000}}, [], "low"),
        ({"thinking": {"type": "adaptive"}}, [system(output_config={"effort": "xhigh"})], "high"),
        (
            {},
            [system(output_config={"effort": "low"}), assistant("ok."), system(output_config={"effort": "medium"})],
            "medium",
        ),
        ({"output_config": {"effort": "low"}}, [system(output_config={"effort": "high"})], "low"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, [], "low"),
        ({"thinking": {"type": "enabled", "budget_tokens": 8192}}, [], "medium"),
        ({"thinking": {"type": "enabled", "budget_tokens": 16384}}, [], "high"),
        ({"thinking": {"type": "enabled", "budget_tokens": 31999, "display": "omitted"}}, [], "high"),
        ({"thinking": {"type": "adaptive", "display": "omitted"}}, [], None),
        ({"thinking": {"type": "disabled"}}, [], None),
        ({}, [], None),
    ],
)
def test_effort_and_thinking_become_reasoning_effort(
    fields: dict[str, Any], messages: list[dict[str, Any]], expected: str | None
) -> None:
    out = translate(body(user(), *messages, **fields))
    assert out.get("reasoning_effort") == expected
    assert "thinking" not in out and "output_config" not in out


def test_no_reasoning_effort_is_sent_to_an_upstream_model_that_does_not_reason() -> None:
    out = translate(body(user(), output_config={"effort": "high"}), reasoning_effort=False)
    assert "reasoning_effort" not in out


def test_an_output_format_becomes_a_json_schema_response_format() -> None:
    out = translate(body(user(), output_config={"format": {"type": "json_schema", "schema": SCHEMA}}))
    assert out["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}}


def test_cache_hints_context_edits_and_deferred_loading_are_dropped() -> None:
    tools = [
        {"name": "Read", "input_schema": SCHEMA, "cache_control": CACHE, "strict": True},
        {"name": "DeferredToolPlaceholder", "defer_loading": True, "input_schema": SCHEMA},
    ]
    out = translate(
        body(
            user([{"type": "text", "text": "hi", "cache_control": CACHE}]),
            tools=tools,
            cache_control=CACHE,
            context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            top_k=5,
            service_tier="auto",
            inference_geo="us",
            speed="fast",
        )
    )
    assert out["tools"] == [
        {"type": "function", "function": {"name": "Read", "parameters": SCHEMA, "strict": True}},
        {"type": "function", "function": {"name": "DeferredToolPlaceholder", "parameters": SCHEMA}},
    ]
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert set(out) == {"model", "messages", "max_tokens", "tools"}


def test_a_long_user_id_is_sent_as_its_digest_and_a_short_one_as_it_is() -> None:
    long_id = '{"device_id":"' + "d" * 64 + '","account_uuid":"","session_id":"7f546bdc"}'
    assert (
        translate(body(user(), metadata={"user_id": long_id}))["user"] == hashlib.sha256(long_id.encode()).hexdigest()
    )
    assert translate(body(user(), metadata={"user_id": "u-1"}))["user"] == "u-1"


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("a server tool", body(user(), tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools[0].type"),
    ("a field the translation does not know", body(user(), thread={"id": "t"}), "thread"),
    (
        "Anthropic's MCP connector",
        body(user(), mcp_servers=[{"type": "url", "url": "https://x", "name": "x"}]),
        "mcp_servers",
    ),
    ("a code execution container", body(user(), container="container_1"), "container"),
    (
        "server tool blocks in the history",
        body(
            user(),
            assistant([{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]),
            user("go on"),
        ),
        "messages[1].content[0].type",
    ),
    (
        "a search result from the user",
        body(user([{"type": "search_result", "source": "s", "title": "t", "content": []}])),
        "messages[0].content[0].type",
    ),
    (
        "a tool change in a system message",
        body(user(), system([{"type": "tool_removal", "tool": {"name": "Bash"}}])),
        "messages[1].content[0].type",
    ),
    (
        "a tool name longer than OpenAI takes",
        body(user(), tools=[{"name": "t" * 65, "input_schema": SCHEMA}]),
        "tools[0].name",
    ),
    ("more stop sequences than OpenAI takes", body(user(), stop_sequences=["a", "b", "c", "d", "e"]), "stop_sequences"),
    ("a final assistant tool_use without its result", body(user(), assistant([USE])), "messages"),
]


@pytest.mark.parametrize(("request_body", "param"), [(b, p) for _, b, p in REFUSED], ids=[n for n, _, _ in REFUSED])
def test_what_chat_completions_cannot_express_is_refused_naming_it(request_body: dict[str, Any], param: str) -> None:
    anthropic_messages.validate_request(request_body)
    with pytest.raises(Untranslatable) as caught:
        anthropic_to_openai.request(request_body)
    assert caught.value.param == param


def test_a_null_field_is_not_a_field() -> None:
    out = translate(body(user(), container=None, thread=None))
    assert "container" not in out and "thread" not in out


def test_an_empty_thinking_block_in_an_answer_gives_no_reasoning_content() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-5-5",
        "content": [THINKING, USE],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    reply = anthropic_to_openai.response(message, created=0)["choices"][0]["message"]
    assert "reasoning_content" not in reply
    assert reply["tool_calls"][0]["function"]["name"] == "Bash"


# A conversation of Claude Code's shape, into which system messages are inserted anywhere.
CONVERSATION = [
    user([{"type": "text", "text": "<system-reminder>r</system-reminder>"}, {"type": "text", "text": "go"}]),
    assistant([THINKING, {"type": "text", "text": "Listing."}, USE, USE2]),
    user([RESULT, RESULT2]),
    assistant([THINKING, {"type": "text", "text": "Done."}]),
    user([{"type": "text", "text": "again", "cache_control": CACHE}]),
]


@given(
    positions=st.lists(st.integers(0, len(CONVERSATION)), max_size=6),
    as_blocks=st.booleans(),
    cleared=st.booleans(),
)
def test_system_messages_anywhere_translate_to_a_valid_chat_request_in_order(
    positions: list[int], as_blocks: bool, cleared: bool
) -> None:
    reminder = system([{"type": "text", "text": "r", "cache_control": CACHE}] if as_blocks else "r")
    if cleared:
        reminder["clear_at"] = "next_user_message"
    items = list(CONVERSATION)
    for position in sorted(positions, reverse=True):
        items.insert(position, reminder)
    out = translate(body(*items))
    without = [m for m in out["messages"] if m["role"] != "system"]
    assert without == [m for m in translate(body(*CONVERSATION))["messages"] if m["role"] != "system"]
    # inserted at p, a reminder stands after CONVERSATION[p - 1]: cleared ones show only after the last user message
    last_user = max(i for i, m in enumerate(CONVERSATION) if m["role"] == "user")
    shown = [p for p in positions if not cleared or p > last_user]
    assert sum(m["role"] == "system" for m in out["messages"]) == len(shown)
