from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import anthropic_messages
from gateway.providers.wire.errors import WireError
from tests.unit.gateway.providers.wire import payloads


def with_changes(**changes: Any) -> dict[str, Any]:
    body = payloads.anthropic_tool_request()
    body.update(changes)
    return body


def messages(*items: dict[str, Any]) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": list(items)}


USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("model missing", {"max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}, "model"),
    ("max_tokens missing", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
    ("max_tokens zero", with_changes(max_tokens=0), "max_tokens"),
    ("max_tokens as a float", with_changes(max_tokens=10.5), "max_tokens"),
    ("messages empty", with_changes(messages=[]), "messages"),
    ("only system messages", messages({"role": "system", "content": "x"}), "messages"),
    ("an unknown role", messages({"role": "developer", "content": "x"}), "messages[0].role"),
    ("empty user text", messages({"role": "user", "content": ""}), "messages[0].content"),
    ("empty user block list", messages({"role": "user", "content": []}), "messages[0].content"),
    (
        "empty text block",
        messages({"role": "user", "content": [{"type": "text", "text": ""}]}),
        "messages[0].content[0].text",
    ),
    (
        "block without a type",
        messages({"role": "user", "content": [{"text": "hi"}]}),
        "messages[0].content[0].type",
    ),
    (
        "image with an unsupported media type",
        messages(
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "AA"}}],
            }
        ),
        "messages[0].content[0].source.media_type",
    ),
    (
        "image source of an unknown kind",
        messages({"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}),
        "messages[0].content[0].source.type",
    ),
    (
        "tool_use in a user message",
        messages({"role": "user", "content": [USE]}),
        "messages[0].content[0].type",
    ),
    (
        "tool_result in an assistant message",
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": [RESULT]}),
        "messages[1].content[0].type",
    ),
    (
        "tool_use id with a dot",
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": [USE | {"id": "a.b"}]}),
        "messages[1].content[0].id",
    ),
    (
        "tool_use input not an object",
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": [USE | {"input": "x"}]}),
        "messages[1].content[0].input",
    ),
    (
        "tool_result answering nothing",
        messages({"role": "user", "content": [RESULT]}),
        "messages[0].content[0].tool_use_id",
    ),
    (
        "tool_use left unanswered",
        messages(
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [USE]},
            {"role": "user", "content": "no result here"},
        ),
        "messages[2]",
    ),
    (
        "tool_result content with a tool_use inside",
        messages(
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [USE]},
            {"role": "user", "content": [RESULT | {"content": [USE]}]},
        ),
        "messages[2].content[0].content[0].type",
    ),
    (
        "final assistant text ending in a space",
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": "The answer is "}),
        "messages[1].content",
    ),
    ("system with an image block", with_changes(system=[{"type": "image"}]), "system[0].type"),
    ("temperature above one", with_changes(temperature=1.5), "temperature"),
    ("negative top_k", with_changes(top_k=-1), "top_k"),
    ("stop_sequences as a string", with_changes(stop_sequences="END"), "stop_sequences"),
    ("metadata user_id as a number", with_changes(metadata={"user_id": 5}), "metadata.user_id"),
    ("tool without input_schema", with_changes(tools=[{"name": "f"}]), "tools[0].input_schema"),
    (
        "tool schema not of an object",
        with_changes(tools=[{"name": "f", "input_schema": {"type": "array"}}]),
        "tools[0].input_schema.type",
    ),
    (
        "tool name with a slash",
        with_changes(tools=[{"name": "a/b", "input_schema": {"type": "object"}}]),
        "tools[0].name",
    ),
    ("tool_choice of an OpenAI kind", with_changes(tool_choice={"type": "required"}), "tool_choice.type"),
    (
        "tool_choice naming a missing tool",
        with_changes(tool_choice={"type": "tool", "name": "x"}),
        "tool_choice.name",
    ),
    (
        "thinking budget too small",
        with_changes(thinking={"type": "enabled", "budget_tokens": 10}),
        "thinking.budget_tokens",
    ),
]


@pytest.mark.parametrize(("body", "param"), [(b, p) for _, b, p in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_requests_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as caught:
        anthropic_messages.parse_request(orjson.dumps(body))
    assert caught.value.param == param


def test_a_realistic_request_passes_and_keeps_every_field() -> None:
    body = with_changes(service_tier="auto", container=None)
    assert anthropic_messages.parse_request(orjson.dumps(body)) == body


def test_consecutive_turns_of_one_role_count_as_one_turn() -> None:
    body = messages(
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [USE]},
        {"role": "user", "content": [RESULT]},
        {"role": "user", "content": "and then?"},
    )
    anthropic_messages.validate_request(body)


def test_a_tool_result_may_be_in_a_second_consecutive_user_message() -> None:
    body = messages(
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "thinking out loud"},
        {"role": "assistant", "content": [USE]},
        {"role": "user", "content": "here it comes"},
        {"role": "user", "content": [RESULT]},
    )
    anthropic_messages.validate_request(body)


def test_a_final_assistant_prefill_may_be_empty_and_tool_uses_in_it_need_no_answer() -> None:
    anthropic_messages.validate_request(
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": []})
    )
    anthropic_messages.validate_request(
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": [USE]})
    )


def test_server_tools_pass_without_an_input_schema() -> None:
    body = with_changes(tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}])
    anthropic_messages.validate_request(body)


def test_prepare_upstream_renames_the_model_only() -> None:
    body = payloads.anthropic_tool_request()
    sent = orjson.loads(anthropic_messages.prepare_upstream(body, "claude-sonnet-4-5-20250929"))
    assert sent == body | {"model": "claude-sonnet-4-5-20250929"}
