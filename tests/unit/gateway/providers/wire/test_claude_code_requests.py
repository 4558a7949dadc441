"""Golden tests: every request Claude Code 2.1.332 sent (four model variants, every turn) is accepted, goes to
an Anthropic upstream unchanged but for the model, and translates to a Chat Completions request OpenAI's rules
accept, with its system messages in place and its effort kept."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import anthropic_messages, anthropic_to_openai, openai_chat
from tests.unit.gateway.providers.wire import claude_code

NAMES = claude_code.names()
EFFORTS = {"default-model": "medium", "unknown-model": "high", "older-model": "high", "no-experimental-betas": "medium"}


def test_every_variant_and_turn_was_recorded() -> None:
    assert len(NAMES) == 12
    for name in NAMES:
        assert claude_code.recorded(name)["path"] == "/v1/messages"


@pytest.mark.parametrize("name", NAMES)
def test_the_request_validates_and_reaches_anthropic_byte_for_byte(name: str) -> None:
    raw = claude_code.raw_body(name)
    request = anthropic_messages.parse_request(raw)
    sent = anthropic_messages.prepare_upstream(request, "claude-opus-5-5-20261101")
    expected = orjson.loads(raw)
    expected["model"] = "claude-opus-5-5-20261101"
    assert sent == orjson.dumps(expected)
    assert anthropic_messages.prepare_upstream(request, orjson.loads(raw)["model"]) == raw


@pytest.mark.parametrize("name", NAMES)
def test_the_request_translates_to_chat_completions_that_openai_accepts(name: str) -> None:
    request = anthropic_messages.parse_request(claude_code.raw_body(name))
    out = anthropic_to_openai.request(request, model="gpt-5.5", max_tokens_field="max_completion_tokens")
    openai_chat.validate_request(out)
    openai_chat.parse_request(openai_chat.prepare_upstream(out, "gpt-5.5"))
    # the top-level system prompt (less the billing header) first, then every message in its place
    prompt = [m for m in out["messages"][:2] if m["role"] == "system"]
    assert [m["content"] for m in prompt] == [b["text"] for b in request["system"][1:]]
    assert not any("x-anthropic-billing-header" in str(m["content"]) for m in out["messages"])
    assert [m["role"] for m in out["messages"][len(prompt) :]] == _expected_roles(request["messages"])
    assert out["reasoning_effort"] == EFFORTS[name.split("/", maxsplit=1)[0]]
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert len(out["user"]) == 64
    assert [t["function"]["name"] for t in out["tools"]] == [t["name"] for t in request["tools"]]
    for key in ("thinking", "output_config", "context_management", "metadata", "system"):
        assert key not in out


def _expected_roles(messages: list[dict[str, Any]]) -> list[str]:
    """Chat roles for Claude Code's messages in order: a user message is its tool results, then its text."""
    roles: list[str] = []
    for message in messages:
        content = message["content"]
        if message["role"] != "user" or isinstance(content, str):
            roles.append(message["role"])
            continue
        roles.extend("tool" for block in content if block["type"] == "tool_result")
        roles.extend(["user"] if any(block["type"] != "tool_result" for block in content) else [])
    return roles


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("turn1-request2")])
def test_the_tool_round_trip_becomes_a_call_and_its_tool_message(name: str) -> None:
    request = anthropic_messages.parse_request(claude_code.raw_body(name))
    out = anthropic_to_openai.request(request)
    calls = [m for m in out["messages"] if m.get("tool_calls")]
    tools = [m for m in out["messages"] if m["role"] == "tool"]
    assert len(calls) == 1 and len(tools) == 1
    call = calls[0]["tool_calls"][0]
    assert call["function"]["name"] == "Bash"
    assert orjson.loads(call["function"]["arguments"])["command"] == "cat note.txt"
    assert tools[0]["tool_call_id"] == call["id"]
    assert out["messages"][out["messages"].index(calls[0]) + 1] is tools[0]
    assert calls[0]["content"] is None  # the empty thinking block was dropped, the signature not sent anywhere
