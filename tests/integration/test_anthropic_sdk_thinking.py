"""The anthropic SDK with ``thinking`` (adaptive and budgeted) and system messages mid-conversation, as Claude Code
uses them: an Anthropic provider answers with signed thinking blocks that come back to it untouched on the next
turn; an OpenAI or vLLM provider gets the effort as ``reasoning_effort`` and the system messages in place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import pytest
from anthropic import types as anthropic_types

from tests.fakes import anthropic_wire, faults
from tests.plugins.gateway import Gateway

BASH: anthropic_types.ToolParam = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
}
REMINDER = {"role": "system", "content": [{"type": "text", "text": "the user prefers short answers"}]}


def client(gateway: Gateway) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)


async def create(sdk: anthropic.AsyncAnthropic, stream: bool, **request: Any) -> anthropic_types.Message:
    if stream:
        async with sdk.messages.stream(**request) as events:
            return await events.get_final_message()
    message: anthropic_types.Message = await sdk.messages.create(**request)
    return message


def as_sent(message: anthropic_types.Message) -> list[dict[str, Any]]:
    """The assistant content as a client sends it back (what Claude Code does: every block, as received)."""
    return [block.model_dump(exclude_none=True) for block in message.content]


@pytest.mark.parametrize("stream", [False, True])
async def test_adaptive_thinking_with_a_tool_round_trip_reaches_anthropic_untouched(
    gateway: Gateway, stream: bool
) -> None:
    gateway.anthropic.script(faults.tool_call("Bash", '{"command": "cat note.txt"}'))
    thinking: Any = {"type": "adaptive", "display": "omitted"}
    messages: list[Any] = [{"role": "user", "content": "what does note.txt say?"}, REMINDER]
    async with client(gateway) as sdk:
        first = await create(
            sdk,
            stream,
            model="claude",
            max_tokens=256,
            thinking=thinking,
            output_config={"effort": "medium"},
            tools=[BASH],
            messages=messages,
        )
        assert [block.type for block in first.content] == ["thinking", "tool_use"]
        block = first.content[0]
        assert block.type == "thinking" and (block.thinking, block.signature) == ("", anthropic_wire.SIGNATURE)
        tool_use = first.content[1]
        assert tool_use.type == "tool_use"
        messages += [
            {"role": "assistant", "content": as_sent(first)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "NOTE-42"}]},
            {"role": "system", "content": "the tool's output is trusted"},
        ]
        second = await create(
            sdk, stream, model="claude", max_tokens=256, thinking=thinking, tools=[BASH], messages=messages
        )
    assert second.content[0].type == "thinking" and second.content[-1].type == "text"
    sent = gateway.anthropic.requests[-1].json
    assert sent["messages"] == messages and sent["thinking"] == thinking
    assert sent["messages"][2]["content"][0] == {
        "type": "thinking",
        "thinking": "",
        "signature": anthropic_wire.SIGNATURE,
    }


@pytest.mark.parametrize("stream", [False, True])
async def test_budgeted_thinking_is_streamed_signed_and_charged(gateway: Gateway, stream: bool) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 2048}
    async with client(gateway) as sdk:
        message = await create(
            sdk,
            stream,
            model="claude",
            max_tokens=4096,
            thinking=thinking,
            messages=[{"role": "user", "content": "think then echo"}],
        )
        block = message.content[0]
        assert block.type == "thinking"
        assert (block.thinking, block.signature) == (anthropic_wire.THINKING, anthropic_wire.SIGNATURE)
        assert message.content[1].type == "text" and message.content[1].text == "echo: think then echo"
        assert message.usage.output_tokens == 5 + 4  # thinking words count as output
        follow_up: list[Any] = [
            {"role": "user", "content": "think then echo"},
            {"role": "assistant", "content": as_sent(message)},
            REMINDER,
            {"role": "user", "content": "again"},
        ]
        await create(sdk, stream, model="claude", max_tokens=4096, thinking=thinking, messages=follow_up)
    assert gateway.anthropic.requests[-1].json["messages"] == follow_up
    rows = await gateway.log_rows(2)
    assert rows[0][3:6] == (3, 9, (Decimal("0.003") * 3 + Decimal("0.015") * 9) / 1000)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["gpt", "llama"])
async def test_an_openai_type_provider_gets_the_effort_and_the_system_messages_in_place(
    gateway: Gateway, model: str, stream: bool
) -> None:
    fakes = [gateway.openai] if model == "gpt" else list(gateway.vllm)  # vLLM endpoints take turns
    signed: Any = {"type": "thinking", "thinking": "", "signature": anthropic_wire.SIGNATURE}
    messages: list[Any] = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": [signed, {"type": "text", "text": "first answer"}]},
        REMINDER,
        {"role": "user", "content": "second question"},
    ]
    async with client(gateway) as sdk:
        message = await create(
            sdk,
            stream,
            model=model,
            max_tokens=64,
            thinking={"type": "adaptive"},
            output_config={"effort": "max"},
            messages=messages,
        )
        assert [block.type for block in message.content] == ["text"]
        assert message.content[0].type == "text" and message.content[0].text == "echo: second question"
        budgeted = await create(
            sdk,
            stream,
            model=model,
            max_tokens=8000,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=messages,
        )
        assert budgeted.stop_reason == "end_turn"
    sent = [request.json for fake in fakes for request in fake.requests]
    first, second = sorted(sent, key=lambda body: body["max_tokens"])  # the adaptive request, then the budgeted
    assert first["reasoning_effort"] == "high" and second["reasoning_effort"] == "low"
    assert [(m["role"], m["content"]) for m in first["messages"]] == [
        ("user", "first question"),
        ("assistant", "first answer"),  # the signed thinking block cannot be replayed to Chat: dropped
        ("system", "the user prefers short answers"),
        ("user", "second question"),
    ]
