"""The official openai SDK against TokenHub behaves as against OpenAI, whichever provider answers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import openai
import orjson
import pytest
from openai.types import chat as chat_types

from tests.fakes import faults, replies
from tests.plugins.gateway import Gateway


def client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key or gateway.key, max_retries=0)


async def logged(gateway: Gateway) -> list[tuple[Any, ...]]:
    return await gateway.log_rows(1)


async def test_chat_completion_answered_by_openai_is_charged_exactly(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="gpt", messages=[{"role": "user", "content": "hello there world"}]
        )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there world"
    assert raw.headers["x-tokenhub-model"] == "gpt"
    assert raw.headers["x-tokenhub-provider"] == "openai"
    assert float(raw.headers["x-tokenhub-overhead-ms"]) >= 0
    (row,) = await logged(gateway)
    assert row[:5] == (200, "gpt", "openai", 3, 4)
    assert row[5] == (Decimal("0.00015") * 3 + Decimal("0.0006") * 4) / 1000


async def test_openai_client_answered_by_anthropic_provider(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        completion = await sdk.chat.completions.create(
            model="claude", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi you"}]
        )
    assert completion.choices[0].message.content == "echo: hi you"
    assert completion.usage is not None and completion.usage.prompt_tokens == 4
    sent = gateway.anthropic.requests[-1].json
    assert sent is not None and sent["system"] == "be brief" and sent["model"] == "claude-fake-large"


async def test_streaming_from_anthropic_arrives_as_openai_chunks_and_is_charged(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        stream = await sdk.chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "one two three"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text = ""
        usage = None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.usage is not None:
                usage = chunk.usage
    assert text == "echo: one two three"
    assert usage is not None and usage.completion_tokens == 4
    (row,) = await logged(gateway)
    assert row[0] == 200 and row[7] is True
    expected = (Decimal("0.003") * replies.words("one two three") + Decimal("0.015") * 4) / 1000
    assert row[5] == expected


async def test_unknown_model_is_a_404_in_openai_shape_and_logged_as_a_failure(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        with pytest.raises(openai.NotFoundError) as info:
            await sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert info.value.body is not None and "nope" in str(info.value.body)
    (row,) = await logged(gateway)
    assert row[0] == 404


async def test_wrong_key_is_refused(gateway: Gateway) -> None:
    async with client(gateway, key="thk_aaaaaaaaaaaaaaaa_" + "b" * 56) as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])


async def test_a_429_fails_over_to_the_fallback_provider(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited(retry_after=30))
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="gpt", messages=[{"role": "user", "content": "fail over"}]
        )
    assert raw.headers["x-tokenhub-provider"] == "anthropic"
    await asyncio.sleep(0)


WEATHER_PARAMETERS: dict[str, object] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WEATHER_TOOL: chat_types.ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": WEATHER_PARAMETERS,
    },
}


def expected_cost(input_per_1k: str, output_per_1k: str, prompt: int, completion: int) -> Decimal:
    return (Decimal(input_per_1k) * prompt + Decimal(output_per_1k) * completion) / 1000


async def test_sync_client_is_answered_like_the_async_one(gateway: Gateway) -> None:
    def call() -> str | None:
        with openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
            completion = sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "sync hello"}])
        return completion.choices[0].message.content

    assert await asyncio.to_thread(call) == "echo: sync hello"


async def test_sync_streaming_client_receives_every_piece(gateway: Gateway) -> None:
    def call() -> str:
        with openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
            stream = sdk.chat.completions.create(
                model="claude", messages=[{"role": "user", "content": "a b c d"}], stream=True
            )
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert await asyncio.to_thread(call) == "echo: a b c d"


async def test_stream_from_openai_is_charged_though_the_client_did_not_ask_for_usage(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "count my words please"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: count my words please"
    assert all(c.usage is None for c in chunks), "usage the client did not ask for is withheld"
    sent = gateway.openai.requests[-1].json
    assert sent["stream_options"] == {"include_usage": True}
    (row,) = await gateway.log_rows(1)
    assert row[:5] == (200, "gpt", "openai", 4, 5) and row[7] is True
    assert row[5] == expected_cost("0.00015", "0.0006", 4, 5)


async def test_vllm_answers_an_openai_client_and_is_charged_at_its_prices(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="llama", messages=[{"role": "user", "content": "local model"}]
        )
    assert raw.parse().choices[0].message.content == "echo: local model"
    assert raw.headers["x-tokenhub-provider"] == "vllm"
    assert sum(len(fake.requests) for fake in gateway.vllm) == 1
    (row,) = await gateway.log_rows(1)
    assert row[5] == expected_cost("0.0001", "0.0002", 2, 3)


async def test_tool_call_from_anthropic_reaches_the_openai_client_as_tool_calls(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.tool_call("get_weather", '{"city": "Paris"}'))
    async with client(gateway) as sdk:
        completion = await sdk.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "weather in Paris?"}], tools=[WEATHER_TOOL]
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}
    sent = gateway.anthropic.requests[-1].json
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather of a city",
            "input_schema": WEATHER_PARAMETERS,
        }
    ]
    (row,) = await gateway.log_rows(1)
    assert row[5] == expected_cost("0.003", "0.015", 3, replies.tool_call_tokens("get_weather", '{"city": "Paris"}'))


async def test_streamed_tool_call_from_anthropic_arrives_as_openai_deltas(gateway: Gateway) -> None:
    arguments = '{"city": "Lisbon", "unit": "celsius"}'
    gateway.anthropic.script(faults.tool_call("get_weather", arguments))
    async with client(gateway) as sdk:
        stream = await sdk.chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "weather?"}],
            tools=[WEATHER_TOOL],
            stream=True,
        )
        names, pieces, finish = [], [], None
        async for chunk in stream:
            for choice in chunk.choices:
                for delta in choice.delta.tool_calls or ():
                    if delta.function and delta.function.name:
                        names.append(delta.function.name)
                    if delta.function and delta.function.arguments:
                        pieces.append(delta.function.arguments)
                finish = choice.finish_reason or finish
    assert names == ["get_weather"] and finish == "tool_calls"
    assert orjson.loads("".join(pieces)) == {"city": "Lisbon", "unit": "celsius"}
    (row,) = await gateway.log_rows(1)
    assert row[5] == expected_cost("0.003", "0.015", 1, replies.tool_call_tokens("get_weather", arguments))


async def test_tool_result_round_trip_reaches_anthropic_as_a_tool_result_block(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.tool_call("get_weather", '{"city": "Oslo"}'))
    async with client(gateway) as sdk:
        messages: list[Any] = [{"role": "user", "content": "weather in Oslo?"}]
        first = await sdk.chat.completions.create(model="claude", messages=messages, tools=[WEATHER_TOOL])
        assistant = first.choices[0].message
        assert assistant.tool_calls is not None
        messages += [
            assistant.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": assistant.tool_calls[0].id, "content": "cold, -3 C"},
        ]
        second = await sdk.chat.completions.create(model="claude", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    sent = gateway.anthropic.requests[-1].json
    tool_use = sent["messages"][1]["content"][-1]
    assert tool_use["type"] == "tool_use" and tool_use["name"] == "get_weather"
    assert tool_use["input"] == {"city": "Oslo"}
    result = sent["messages"][2]
    assert result["role"] == "user"
    assert result["content"][0]["type"] == "tool_result"
    assert result["content"][0]["tool_use_id"] == tool_use["id"]
    assert "cold, -3 C" in orjson.dumps(result["content"][0]).decode()


async def test_tool_call_from_openai_provider_is_relayed_unchanged(gateway: Gateway) -> None:
    gateway.openai.script(faults.tool_call("get_weather", '{"city": "Rome"}'))
    async with client(gateway) as sdk:
        completion = await sdk.chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "weather in Rome?"}], tools=[WEATHER_TOOL]
        )
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.id == "call_fake_1" and orjson.loads(call.function.arguments) == {"city": "Rome"}
    assert gateway.openai.requests[-1].json["tools"] == [WEATHER_TOOL]


async def test_models_lists_the_names_and_aliases_the_key_may_use(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        listed = [model.id async for model in sdk.models.list()]
    assert listed == sorted(
        ["gpt", "gpt-4o-mini", "claude", "claude-fake-large", "llama", "embed", "text-embedding-3-small"]
    )


async def test_request_id_is_passed_to_the_upstream_and_returned(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="claude",
            messages=[{"role": "user", "content": "trace me"}],
            extra_headers={"X-Request-Id": "trace-0042"},
        )
        generated = await sdk.chat.completions.with_raw_response.create(
            model="gpt", messages=[{"role": "user", "content": "no id"}]
        )
    assert raw.headers["x-tokenhub-request-id"] == "trace-0042"
    assert gateway.anthropic.requests[-1].headers["x-request-id"] == "trace-0042"
    own = generated.headers["x-tokenhub-request-id"]
    assert own and own != "trace-0042" and gateway.openai.requests[-1].headers["x-request-id"] == own
    rows = await gateway.log_rows(2, "request_id")
    assert {row[0] for row in rows} == {"trace-0042", own}
