"""The official openai SDK against TokenHub behaves as against OpenAI, whichever provider answers."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import psycopg
import pytest

from tests.fakes import replies
from tests.plugins.gateway import Gateway


def client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key or gateway.key, max_retries=0)


async def logged(gateway: Gateway) -> list[tuple[object, ...]]:
    await gateway.flush_logs()
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        cur = await conn.execute(
            "SELECT status, model, provider, input_tokens, output_tokens, cost_usd, error_class, stream"
            " FROM request_logs ORDER BY created_at"
        )
        return await cur.fetchall()


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
    from tests.fakes import faults

    gateway.openai.script(faults.rate_limited(retry_after=30))
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="gpt", messages=[{"role": "user", "content": "fail over"}]
        )
    assert raw.headers["x-tokenhub-provider"] == "anthropic"
    await asyncio.sleep(0)
