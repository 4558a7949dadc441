"""The official anthropic SDK against ``/v1/messages`` behaves as against Anthropic, whichever provider answers.

The Anthropic provider gets the request as sent; OpenAI and vLLM providers get it translated, and their
answers - streams event by event, tool calls included - come back in the Messages format, metered exactly.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import anthropic
import orjson
import pytest
from anthropic import types as anthropic_types

from tests.fakes import faults, replies
from tests.plugins.gateway import Gateway

PRICES = {"claude": ("0.003", "0.015"), "gpt": ("0.00015", "0.0006"), "llama": ("0.0001", "0.0002")}
PROVIDERS = {"claude": "anthropic", "gpt": "openai", "llama": "vllm"}
WEATHER_TOOL: anthropic_types.ToolParam = {
    "name": "get_weather",
    "description": "Current weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(gateway: Gateway, key: str | None = None) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key or gateway.key, max_retries=0)


def expected_cost(model: str, prompt: int, completion: int) -> Decimal:
    input_per_1k, output_per_1k = PRICES[model]
    return (Decimal(input_per_1k) * prompt + Decimal(output_per_1k) * completion) / 1000


def text_of(message: anthropic_types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


@pytest.mark.parametrize("model", ["claude", "gpt", "llama"])
async def test_messages_are_answered_by_every_provider_type_and_charged_exactly(gateway: Gateway, model: str) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.messages.with_raw_response.create(
            model=model,
            max_tokens=64,
            system="be brief",
            messages=[{"role": "user", "content": "hello from anthropic"}],
        )
    message = await raw.parse()
    assert text_of(message) == "echo: hello from anthropic"
    assert message.role == "assistant" and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 4)
    assert raw.headers["x-tokenhub-provider"] == PROVIDERS[model]
    (row,) = await gateway.log_rows(1)
    assert row[:5] == (200, model, PROVIDERS[model], 5, 4)
    assert row[5] == expected_cost(model, 5, 4)


async def test_the_anthropic_provider_gets_the_request_with_the_clients_version_header(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        await sdk.messages.create(
            model="claude",
            max_tokens=32,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"anthropic-version": "2023-06-01", "anthropic-beta": "tools-2024-04-04"},
        )
    sent = gateway.anthropic.requests[-1]
    assert sent.json["model"] == "claude-fake-large" and sent.json["max_tokens"] == 32
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "tools-2024-04-04"
    assert sent.headers["x-api-key"] != "" and gateway.key not in str(sent.headers)


async def test_sync_client_is_answered_like_the_async_one(gateway: Gateway) -> None:
    def call() -> str:
        with anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0) as sdk:
            message = sdk.messages.create(
                model="gpt", max_tokens=16, messages=[{"role": "user", "content": "sync please"}]
            )
        return text_of(message)

    assert await asyncio.to_thread(call) == "echo: sync please"


async def test_sync_stream_helper_assembles_the_final_message(gateway: Gateway) -> None:
    def call() -> tuple[list[str], anthropic_types.Message]:
        sdk = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
        with (
            sdk,
            sdk.messages.stream(
                model="claude", max_tokens=16, messages=[{"role": "user", "content": "stream sync"}]
            ) as stream,
        ):
            return list(stream.text_stream), stream.get_final_message()

    pieces, final = await asyncio.to_thread(call)
    assert "".join(pieces) == "echo: stream sync" and len(pieces) == 3
    assert final.usage.output_tokens == 3


@pytest.mark.parametrize("model", ["claude", "gpt", "llama"])
async def test_streams_from_every_provider_type_arrive_as_anthropic_events(gateway: Gateway, model: str) -> None:
    async with (
        client(gateway) as sdk,
        sdk.messages.stream(
            model=model, max_tokens=64, messages=[{"role": "user", "content": "one two three four"}]
        ) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert text_of(final) == "echo: one two three four"
    assert final.stop_reason == "end_turn"
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.usage.output_tokens == 5
    (row,) = await gateway.log_rows(1)
    assert row[:5] == (200, model, PROVIDERS[model], 4, 5) and row[7] is True
    assert row[5] == expected_cost(model, 4, 5)


async def test_max_tokens_cut_is_reported_as_max_tokens_from_an_openai_provider(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        message = await sdk.messages.create(
            model="gpt", max_tokens=2, messages=[{"role": "user", "content": "a long long reply"}]
        )
    assert message.stop_reason == "max_tokens" and text_of(message) == "echo: a"
    assert gateway.openai.requests[-1].json["max_tokens"] == 2


@pytest.mark.parametrize("model", ["claude", "gpt"])
async def test_tool_use_comes_back_as_a_tool_use_block(gateway: Gateway, model: str) -> None:
    fake = gateway.anthropic if model == "claude" else gateway.openai
    fake.script(faults.tool_call("get_weather", '{"city": "Paris"}'))
    async with client(gateway) as sdk:
        message = await sdk.messages.create(
            model=model,
            max_tokens=64,
            tools=[WEATHER_TOOL],
            messages=[{"role": "user", "content": "weather in Paris?"}],
        )
    assert message.stop_reason == "tool_use"
    (block,) = [b for b in message.content if b.type == "tool_use"]
    assert block.name == "get_weather" and block.input == {"city": "Paris"}
    if model == "gpt":
        sent = gateway.openai.requests[-1].json
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["tools"][0]["function"]["parameters"] == WEATHER_TOOL["input_schema"]
    (row,) = await gateway.log_rows(1)
    assert row[5] == expected_cost(model, 3, replies.tool_call_tokens("get_weather", '{"city": "Paris"}'))


async def test_streamed_tool_call_from_openai_arrives_as_input_json_deltas(gateway: Gateway) -> None:
    arguments = '{"city": "Lisbon", "unit": "celsius"}'
    gateway.openai.script(faults.tool_call("get_weather", arguments))
    async with (
        client(gateway) as sdk,
        sdk.messages.stream(
            model="gpt", max_tokens=64, tools=[WEATHER_TOOL], messages=[{"role": "user", "content": "weather?"}]
        ) as stream,
    ):
        partial = [
            event.delta.partial_json
            async for event in stream
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta"
        ]
        final = await stream.get_final_message()
    assert orjson.loads("".join(partial)) == {"city": "Lisbon", "unit": "celsius"}
    (block,) = [b for b in final.content if b.type == "tool_use"]
    assert block.input == {"city": "Lisbon", "unit": "celsius"} and final.stop_reason == "tool_use"


async def test_tool_result_round_trip_reaches_openai_as_a_tool_message(gateway: Gateway) -> None:
    gateway.openai.script(faults.tool_call("get_weather", '{"city": "Oslo"}'))
    async with client(gateway) as sdk:
        messages: list[Any] = [{"role": "user", "content": "weather in Oslo?"}]
        first = await sdk.messages.create(model="gpt", max_tokens=64, tools=[WEATHER_TOOL], messages=messages)
        (tool_use,) = [b for b in first.content if b.type == "tool_use"]
        messages += [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool_use.id, "content": "cold, -3 C"},
                    {"type": "text", "text": "thanks"},
                ],
            },
        ]
        second = await sdk.messages.create(model="gpt", max_tokens=64, tools=[WEATHER_TOOL], messages=messages)
    assert text_of(second) == "echo: thanks"
    sent = gateway.openai.requests[-1].json["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert assistant["tool_calls"][0]["id"] == tool_use.id
    assert orjson.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    tool = next(m for m in sent if m["role"] == "tool")
    assert tool["tool_call_id"] == tool_use.id and "cold, -3 C" in orjson.dumps(tool["content"]).decode()


async def test_unknown_model_is_an_anthropic_not_found_error_and_logged(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        with pytest.raises(anthropic.NotFoundError) as info:
            await sdk.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert info.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "the model 'nope' does not exist"},
    }
    (row,) = await gateway.log_rows(1)
    assert row[0] == 404 and row[6] == "model_not_found"


async def test_models_are_listed_in_anthropic_shape_for_anthropic_clients(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        page = await sdk.models.list()
    assert [m.id for m in page.data] == sorted(
        ["gpt", "gpt-4o-mini", "claude", "claude-fake-large", "llama", "embed", "text-embedding-3-small"]
    )
    assert all(m.type == "model" for m in page.data)
