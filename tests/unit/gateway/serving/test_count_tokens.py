from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import anthropic_messages
from gateway.serving import count_tokens
from tests.unit.gateway.providers.wire import claude_code

PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
USE = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cat note.txt"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "NOTE-0123abcd"}


def request(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"model": "claude-opus-5-5", "messages": list(messages), **fields}
    anthropic_messages.validate_request(body, count_only=True)
    return body


def test_the_answer_is_the_routing_estimate_of_the_same_texts() -> None:
    body = request(
        {"role": "user", "content": "Read note.txt"},
        {"role": "system", "content": "<system-reminder>be brief</system-reminder>"},
        system="You are a coding agent.",
    )
    expected = tokens.estimate_input(
        ["You are a coding agent.", "Read note.txt", "<system-reminder>be brief</system-reminder>"]
    )
    assert count_tokens.count(body) == {"input_tokens": expected}


def test_tool_calls_results_images_and_tools_all_count() -> None:
    plain = count_tokens.input_tokens(request({"role": "user", "content": "go"}))
    with_image = count_tokens.input_tokens(request({"role": "user", "content": [{"type": "text", "text": "go"}, PNG]}))
    assert with_image == plain + tokens.PER_IMAGE
    tool = {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
    assert count_tokens.input_tokens(request({"role": "user", "content": "go"}, tools=[tool])) > plain
    round_trip = request(
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [USE]},
        {"role": "user", "content": [RESULT]},
    )
    assert count_tokens.input_tokens(round_trip) > plain + 2 * tokens.PER_MESSAGE


def test_blocks_the_estimator_cannot_read_count_their_json_and_redacted_thinking_counts_nothing() -> None:
    base = request({"role": "user", "content": "go"}, {"role": "assistant", "content": [{"type": "text", "text": "x"}]})
    redacted = request(
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "x"}, {"type": "redacted_thinking", "data": "E" * 400}],
        },
    )
    searched = request(
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {"query": "q"}},
            ],
        },
    )
    assert count_tokens.input_tokens(redacted) == count_tokens.input_tokens(base)
    assert count_tokens.input_tokens(searched) > count_tokens.input_tokens(base)


@pytest.mark.parametrize("name", claude_code.names())
def test_every_recorded_claude_code_request_is_counted(name: str) -> None:
    raw = claude_code.raw_body(name)
    body = anthropic_messages.parse_request(raw, count_only=True)
    counted = count_tokens.input_tokens(body)
    # the fixtures are mostly JSON and placeholder prose: between one token per eight and per two bytes
    assert len(raw) // 8 < counted < len(raw) // 2


words = st.text(alphabet="abcdefgh ,.", min_size=1, max_size=40)


@given(st.lists(words, min_size=1, max_size=6), words, st.sampled_from(["user", "system"]))
def test_another_message_never_lowers_the_count(texts: list[str], extra: str, role: str) -> None:
    messages = [{"role": "user", "content": t} for t in texts]
    before = count_tokens.input_tokens(request(*messages))
    after = count_tokens.input_tokens(request(*messages, {"role": role, "content": extra}))
    assert after >= before + tokens.PER_MESSAGE
