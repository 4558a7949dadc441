"""The official openai SDK's ``client.responses`` against TokenHub, whichever provider type answers.

``gpt`` is served by an OpenAI provider that speaks the Responses API natively; ``qwen`` by a vLLM provider
(Chat Completions only) and ``claude`` by Anthropic, both translated both ways. Every call is charged exactly
from the upstream's usage and leaves one request-log row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import openai
import orjson
import pytest
import pytest_asyncio
from openai.types.responses import FunctionToolParam, Response

from tests.fakes import faults, replies, upstreams
from tests.plugins.gateway import Gateway

EXTRA = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: vllm-one}}
spec: {{type: vllm, endpoints: ["{url}"], timeoutSeconds: 1}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: qwen}}
spec:
  providerRef: vllm-one
  upstreamModel: meta-llama/Llama-3.1-8B-Instruct
  contextWindow: 32768
  pricing: {{inputPer1K: 0.0001, outputPer1K: 0.0002}}
  capabilities: [chat, tools, json]
"""
PRICES = {"gpt": ("0.00015", "0.0006"), "claude": ("0.003", "0.015"), "qwen": ("0.0001", "0.0002")}
PROVIDERS = {"gpt": "openai", "claude": "anthropic", "qwen": "vllm-one"}
MODELS = ("gpt", "qwen", "claude")
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}


@pytest_asyncio.fixture
async def gw(gateway: Gateway) -> Gateway:
    await gateway.until_revision(await gateway.apply(EXTRA.format(url=gateway.vllm[0].url)))
    return gateway


def client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key or gateway.key, max_retries=0)


def cost(model: str, prompt: int, completion: int) -> Decimal:
    input_price, output_price = PRICES[model]
    return (Decimal(input_price) * prompt + Decimal(output_price) * completion) / 1000


def upstream_of(gateway: Gateway, model: str) -> upstreams.FakeUpstream:
    if model == "gpt":
        return gateway.openai
    if model == "claude":
        return gateway.anthropic
    return gateway.vllm[0]


@pytest.mark.parametrize("model", MODELS)
async def test_a_response_is_answered_and_charged_exactly_by_every_provider_type(gw: Gateway, model: str) -> None:
    async with client(gw) as sdk:
        raw = await sdk.responses.with_raw_response.create(
            model=model, input="hello there world", instructions="be brief", store=False
        )
    response = raw.parse()
    assert response.output_text == "echo: hello there world"
    assert response.status == "completed"
    assert raw.headers["x-tokenhub-model"] == model
    assert raw.headers["x-tokenhub-provider"] == PROVIDERS[model]
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 4)
    (row,) = await gw.log_rows(1)
    assert row[:5] == (200, model, PROVIDERS[model], 5, 4)
    assert row[5] == cost(model, 5, 4)
    sent = upstream_of(gw, model).requests[-1]
    expected_path = {"gpt": "/v1/responses", "qwen": "/v1/chat/completions", "claude": "/v1/messages"}[model]
    assert sent.path == expected_path


@pytest.mark.parametrize("model", MODELS)
async def test_a_streamed_response_arrives_event_by_event_and_is_charged(gw: Gateway, model: str) -> None:
    async with client(gw) as sdk:
        stream = await sdk.responses.create(model=model, input="one two three", stream=True, store=False)
        kinds: list[str] = []
        text = ""
        final: Response | None = None
        async for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.completed":
                final = event.response
    assert text == "echo: one two three"
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds and "response.output_item.done" in kinds
    assert final is not None and final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)
    (row,) = await gw.log_rows(1)
    assert row[0] == 200 and row[1] == model and row[7] is True
    assert row[3:6] == (3, 4, cost(model, 3, 4))


@pytest.mark.parametrize("model", MODELS)
async def test_a_function_tool_round_trip(gw: Gateway, model: str) -> None:
    upstream_of(gw, model).script(faults.tool_call("get_weather", '{"city": "Paris"}'))
    async with client(gw) as sdk:
        first = await sdk.responses.create(model=model, input="weather in Paris?", tools=[WEATHER], store=False)
        calls = [item for item in first.output if item.type == "function_call"]
        assert len(calls) == 1
        call = calls[0]
        assert (call.name, call.arguments.replace(" ", "")) == ("get_weather", '{"city":"Paris"}')
        follow_up: list[Any] = [
            {"role": "user", "content": "weather in Paris?"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny and mild"},
        ]
        second = await sdk.responses.create(model=model, input=follow_up, tools=[WEATHER], store=False)
    assert second.status == "completed" and second.output_text.startswith("echo:")
    sent = upstream_of(gw, model).requests[-1].body
    assert b"sunny and mild" in sent and call.call_id.encode() in sent
    rows = await gw.log_rows(2)
    assert [row[0] for row in rows] == [200, 200]
    assert all(row[5] > 0 for row in rows)


@pytest.mark.parametrize("model", MODELS)
async def test_a_streamed_tool_call_streams_its_arguments(gw: Gateway, model: str) -> None:
    arguments = '{"city": "Lisbon"}'
    upstream_of(gw, model).script(faults.tool_call("get_weather", arguments))
    sdk = client(gw)
    async with sdk, sdk.responses.stream(model=model, input="weather?", tools=[WEATHER], store=False) as stream:
        deltas = [event.delta async for event in stream if event.type == "response.function_call_arguments.delta"]
        final = await stream.get_final_response()
    (call,) = [item for item in final.output if item.type == "function_call"]
    assert "".join(deltas).replace(" ", "") == call.arguments.replace(" ", "") == '{"city":"Lisbon"}'
    (row,) = await gw.log_rows(1)
    assert row[0] == 200 and row[4] == replies.tool_call_tokens("get_weather", arguments)


@pytest.mark.parametrize("model", ["qwen", "claude"])
@pytest.mark.parametrize("stream", [False, True])
async def test_a_custom_tool_is_called_with_free_form_input_through_a_server_without_custom_tools(
    gw: Gateway, model: str, stream: bool
) -> None:
    patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch\n"
    upstream_of(gw, model).script(faults.tool_call("apply_patch", orjson.dumps({"input": patch}).decode()))
    tools: list[Any] = [
        WEATHER,
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "a"}},
    ]
    response: Response
    async with client(gw) as sdk:
        if stream:
            async with sdk.responses.stream(model=model, input="add a note", tools=tools, store=False) as events:
                response = await events.get_final_response()
        else:
            response = await sdk.responses.create(model=model, input="add a note", tools=tools, store=False)
    [call] = [item for item in response.output if item.type == "custom_tool_call"]
    assert (call.name, call.input) == ("apply_patch", patch)
    sent = upstream_of(gw, model).requests[-1].json
    if model == "qwen":  # vLLM knows only function tools: the custom one went up as one taking {"input": ...}
        assert [tool["type"] for tool in sent["tools"]] == ["function", "function"]
