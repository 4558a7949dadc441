"""Embeddings through TokenHub: the SDK's vectors come back intact and the prompt tokens are charged exactly.

Embeddings are metered like chat (the older system let them bypass accounting): input tokens at the model's
input price, one request-log row, and the key's ``embeddings`` scope enforced.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest

from tests.fakes import faults, replies
from tests.plugins.gateway import Gateway

INPUT_PER_1K = Decimal("0.00002")


def client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key or gateway.key, max_retries=0)


async def test_embeddings_return_the_upstream_vectors_and_are_charged_for_prompt_tokens(gateway: Gateway) -> None:
    texts = ["the quick brown fox", "jumps over"]
    async with client(gateway) as sdk:
        raw = await sdk.embeddings.with_raw_response.create(model="embed", input=texts)
    result = raw.parse()
    assert [item.embedding for item in result.data] == [
        pytest.approx(replies.embedding(text), abs=1e-6) for text in texts
    ]
    assert result.usage.prompt_tokens == 6
    assert raw.headers["x-tokenhub-model"] == "embed" and raw.headers["x-tokenhub-provider"] == "openai"
    sent = gateway.openai.requests[-1]
    assert sent.path == "/v1/embeddings" and sent.json["model"] == "text-embedding-3-small"
    (row,) = await gateway.log_rows(1)
    assert row[:5] == (200, "embed", "openai", 6, 0)
    assert row[5] == INPUT_PER_1K * 6 / 1000


async def test_float_encoding_and_dimensions_are_passed_through(gateway: Gateway) -> None:
    def call() -> list[float]:
        with openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
            result = sdk.embeddings.create(
                model="text-embedding-3-small", input="hello", encoding_format="float", dimensions=4
            )
        return result.data[0].embedding

    assert await asyncio.to_thread(call) == replies.embedding("hello", 4)
    assert gateway.openai.requests[-1].json["dimensions"] == 4


async def test_a_key_without_the_embeddings_scope_gets_permission_denied(gateway: Gateway) -> None:
    async with client(gateway, gateway.chat_only_key) as sdk:
        with pytest.raises(openai.PermissionDeniedError) as info:
            await sdk.embeddings.create(model="embed", input="x")
    assert info.value.status_code == 403 and "'embeddings' scope" in info.value.message
    assert not gateway.openai.requests
    (row,) = await gateway.log_rows(1)
    assert row[0] == 403 and row[6] == "forbidden"


async def test_an_empty_input_is_refused_before_any_upstream_call(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.embeddings.create(model="embed", input=[])
    assert info.value.param == "input"
    assert not gateway.openai.requests


async def test_a_rate_limited_embeddings_upstream_is_a_429_for_the_client(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited(retry_after=12))
    async with client(gateway) as sdk:
        with pytest.raises(openai.RateLimitError):
            await sdk.embeddings.create(model="embed", input="x")
        with pytest.raises(openai.RateLimitError) as info:
            await sdk.embeddings.create(model="embed", input="x")
    assert len(gateway.openai.requests) == 1, "the cooled-down provider was not called again"
    assert info.value.response.headers.get("retry-after") is not None
