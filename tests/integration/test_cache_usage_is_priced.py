"""Prompt-cache usage is charged at the Model's cache prices, to the digit, in the log row and the budget alike.

An Anthropic upstream reports cache reads and writes beside uncached input; an OpenAI one reports cached tokens
inside ``prompt_tokens``. Either way the log row keeps all input in ``input_tokens`` with the cached parts in
``cache_read_tokens``/``cache_write_tokens``, the cost prices each part, and the budget is charged that cost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import psycopg
import pytest
from openai.types import CompletionUsage

from gateway.accounting import bounds
from gateway.config import specs
from tests.fakes import faults
from tests.plugins.gateway import Gateway

CACHE_PRICED = """
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: claude}
spec:
  providerRef: anthropic
  upstreamModel: claude-fake-large
  aliases: [claude-fake-large]
  contextWindow: 200000
  pricing: {inputPer1K: 0.003, outputPer1K: 0.015, cacheReadPer1K: 0.0003, cacheWritePer1K: 0.00375}
  capabilities: [chat, tools, vision]
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: gpt}
spec:
  providerRef: openai
  upstreamModel: gpt-4o-mini
  aliases: [gpt-4o-mini]
  contextWindow: 128000
  pricing: {inputPer1K: 0.00015, outputPer1K: 0.0006, cacheReadPer1K: 0.000075}
  capabilities: [chat, tools, json, vision]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: budgeted}
spec: {scopes: [chat], monthlyBudgetUSD: 5}
"""
COLUMNS = "request_id, status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost_usd"
CLAUDE = (Decimal("0.003"), Decimal("0.0003"), Decimal("0.00375"), Decimal("0.015"))
GPT = (Decimal("0.00015"), Decimal("0.000075"), Decimal("0.00015"), Decimal("0.0006"))


def cost(prices: tuple[Decimal, ...], uncached: int, read: int, write: int, output: int) -> Decimal:
    input_price, read_price, write_price, output_price = prices
    return (input_price * uncached + read_price * read + write_price * write + output_price * output) / 1000


async def budgeted_key(gateway: Gateway) -> str:
    await gateway.until_revision(await gateway.apply(CACHE_PRICED))
    return await gateway.issue_key("budgeted")


async def charges(gateway: Gateway) -> dict[str, Decimal]:
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        cur = await conn.execute("SELECT request_id, cost_usd FROM budget_charges")
        return {request_id: Decimal(value) for request_id, value in await cur.fetchall()}


async def logged_and_charged(gateway: Gateway) -> tuple[Any, ...]:
    (row,) = await gateway.log_rows(1, COLUMNS)
    await gateway.flush_logs()
    assert (await charges(gateway))[row[0]] == row[6]  # the budget is charged what the log row says
    return tuple(row[1:])


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_cache_reads_and_writes_are_priced_and_charged(gateway: Gateway, stream: bool) -> None:
    key = await budgeted_key(gateway)
    gateway.anthropic.script(faults.cached(read=2000, write=500))
    request: Any = {"model": "claude", "max_tokens": 64, "messages": [{"role": "user", "content": "hello cache"}]}
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key, max_retries=0) as sdk:
        if stream:
            async with sdk.messages.stream(**request) as events:
                message = await events.get_final_message()
        else:
            message = await sdk.messages.create(**request)
    assert message.usage.cache_read_input_tokens == 2000 and message.usage.cache_creation_input_tokens == 500
    row = await logged_and_charged(gateway)
    # "hello cache" is 2 uncached words; "echo: hello cache" 3 words out
    assert row == (200, 2502, 2000, 500, 3, cost(CLAUDE, 2, 2000, 500, 3))
    assert row[-1] == Decimal("0.002526")  # 0.006 + 0.6 + 1.875 + 0.045 thousandths
    counted = [
        await gateway.metric("tokenhub_tokens_total", model="claude", provider="anthropic", direction=direction)
        for direction in ("input", "cache_read", "cache_write", "output")
    ]
    assert counted == [2502, 2000, 500, 3]


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_cached_tokens_are_priced_as_cache_reads(gateway: Gateway, stream: bool) -> None:
    key = await budgeted_key(gateway)
    gateway.openai.script(faults.cached(read=1024))
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key, max_retries=0) as sdk:
        messages: Any = [{"role": "user", "content": "hello cache again"}]
        usage: CompletionUsage | None
        if stream:
            chunks = await sdk.chat.completions.create(
                model="gpt", messages=messages, stream=True, stream_options={"include_usage": True}
            )
            usage = [chunk.usage async for chunk in chunks if chunk.usage is not None][-1]
        else:
            usage = (await sdk.chat.completions.create(model="gpt", messages=messages)).usage
    assert usage is not None and usage.prompt_tokens == 1027
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 1024
    row = await logged_and_charged(gateway)
    assert row == (200, 1027, 1024, 0, 4, cost(GPT, 3, 1024, 0, 4))
    assert await gateway.metric("tokenhub_tokens_total", model="gpt", provider="openai", direction="cache_read") == 1024


async def test_cache_usage_of_an_openai_provider_reaches_an_anthropic_client(gateway: Gateway) -> None:
    key = await budgeted_key(gateway)
    gateway.openai.script(faults.cached(read=1024, write=256))
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key, max_retries=0) as sdk:
        message = await sdk.messages.create(
            model="gpt", max_tokens=64, messages=[{"role": "user", "content": "translated cache"}]
        )
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (2, 1024, 256)
    row = await logged_and_charged(gateway)
    assert row == (200, 1282, 1024, 256, 3, cost(GPT, 2, 1024, 256, 3))


async def test_the_reservation_holds_the_input_at_the_cache_write_price(gateway: Gateway) -> None:
    """A budget that covers a request's bound at the input price but not at the dearer cache-write price is
    refused before any upstream call: the provider may bill the whole prompt as a cache write."""
    body: dict[str, Any] = {"model": "claude", "max_tokens": 1, "messages": [{"role": "user", "content": "x " * 400}]}
    spec = specs.ModelSpec.model_validate({"providerRef": "p", "upstreamModel": "m", "contextWindow": 100_000})
    tokens_in = bounds.input_tokens(bounds.shape(body), spec)
    at_input_price = cost(CLAUDE, tokens_in, 0, 0, 1)
    at_write_price = cost(CLAUDE, 0, 0, tokens_in, 1)
    budget = (at_input_price + at_write_price) / 2
    revision = await gateway.apply(
        CACHE_PRICED + f"---\nkind: ApiKey\napiVersion: tokenhub.io/v1alpha1\nmetadata: {{name: tight}}\n"
        f"spec: {{scopes: [chat], monthlyBudgetUSD: {budget}}}\n"
    )
    await gateway.until_revision(revision)
    key = await gateway.issue_key("tight")
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        refused = await http.post("/v1/messages", json=body, headers={"x-api-key": key})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["type"] == "rate_limit_error" and "budget" in refused.json()["error"]["message"]
    assert gateway.anthropic.requests == []
    (row,) = await gateway.log_rows(1, "status, error_class")
    assert row == (429, "rate_limited")


async def test_responses_cached_tokens_are_priced_as_cache_reads(gateway: Gateway) -> None:
    key = await budgeted_key(gateway)
    gateway.openai.script(faults.cached(read=2048))
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key, max_retries=0) as sdk:
        response = await sdk.responses.create(model="gpt", input="cached responses", store=False)
    assert response.usage is not None and response.usage.input_tokens_details.cached_tokens == 2048
    row = await logged_and_charged(gateway)
    assert row == (200, 2050, 2048, 0, 3, cost(GPT, 2, 2048, 0, 3))
