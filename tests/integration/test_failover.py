"""Upstream failures before the first byte fail over to the next candidate; a client's own mistake does not.

The fixture's policy chains ``gpt`` (OpenAI) -> ``claude`` (Anthropic) and back. A 429 cools its provider down
for its Retry-After (or a default when it gave none) and the next requests skip it without calling it; 5xx,
timeouts, dropped connections and malformed bodies move on without a cooldown; an upstream 400 is shown to the
client with the upstream's own message and is not retried elsewhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import orjson
import pytest

from tests.fakes import faults
from tests.plugins.gateway import UPSTREAM_TIMEOUT_S, Gateway

HELLO: list[Any] = [{"role": "user", "content": "hello"}]


def client(gateway: Gateway) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)


async def provider_of(sdk: openai.AsyncOpenAI, model: str = "gpt") -> str:
    raw = await sdk.chat.completions.with_raw_response.create(model=model, messages=HELLO)
    assert raw.parse().choices[0].message.content == "echo: hello"
    return raw.headers["x-tokenhub-provider"]


async def attempts(gateway: Gateway, count: int) -> list[list[tuple[str, str]]]:
    rows = await gateway.log_rows(count, "status, attempts")
    assert all(row[0] == 200 for row in rows)
    return [[(a["provider"], a["outcome"]) for a in row[1]] for row in rows]


async def test_a_429_with_retry_after_cools_the_provider_down_for_the_next_requests(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited(retry_after=30))
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
        assert await provider_of(sdk) == "anthropic"
    assert len(gateway.openai.requests) == 1, "the cooled-down provider was not called again"
    assert await attempts(gateway, 2) == [
        [("openai", "rate_limited"), ("anthropic", "ok")],
        [("anthropic", "ok")],  # the routing engine no longer offers the cooling provider at all
    ]


async def test_a_429_without_retry_after_cools_down_for_the_default_time(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited())
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
        assert await provider_of(sdk) == "anthropic"
    assert len(gateway.openai.requests) == 1, "no Retry-After still cools the provider down"


async def test_a_provider_is_used_again_once_its_retry_after_has_passed(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited(retry_after=0.3))
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
        await asyncio.sleep(0.35)  # the cooldown itself is the behaviour under test
        assert await provider_of(sdk) == "openai"


async def test_every_provider_rate_limited_is_a_429_with_the_shortest_retry_after(gateway: Gateway) -> None:
    gateway.openai.script(faults.rate_limited(retry_after=20))
    gateway.anthropic.script(faults.rate_limited(retry_after=7))
    async with client(gateway) as sdk:
        with pytest.raises(openai.RateLimitError):
            await sdk.chat.completions.create(model="gpt", messages=HELLO)
        with pytest.raises(openai.RateLimitError) as info:
            await sdk.chat.completions.create(model="gpt", messages=HELLO)
    assert info.value.response.headers["retry-after"] == "7"
    assert (len(gateway.openai.requests), len(gateway.anthropic.requests)) == (1, 1)
    rows = await gateway.log_rows(2, "status")
    assert rows == [(429,), (429,)]


@pytest.mark.parametrize(
    "fault",
    [faults.server_error(500), faults.server_error(503), faults.malformed_json(), faults.drop()],
    ids=["500", "503", "malformed-json", "dropped-connection"],
)
async def test_transient_failures_fail_over_without_a_cooldown(gateway: Gateway, fault: faults.Fault) -> None:
    retried = fault.status is not None and fault.status >= 500  # a 5xx gets one more try on the same model
    gateway.openai.script(*[fault] * (2 if retried else 1))
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
        assert await provider_of(sdk) == "openai", "a transient failure does not bench the provider"
    first, _ = await attempts(gateway, 2)
    outcome = "malformed_response" if fault.kind == "malformed_json" else "transient"
    failed = [("openai", outcome)] * (2 if retried else 1)
    assert first == [*failed, ("anthropic", "ok")]


async def test_a_single_5xx_is_retried_on_the_same_model_after_a_backoff(gateway: Gateway) -> None:
    gateway.openai.script(faults.server_error(503))
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "openai"
    (first,) = await attempts(gateway, 1)
    assert first == [("openai", "transient"), ("openai", "ok")]


async def test_an_upstream_timeout_fails_over(gateway: Gateway) -> None:
    gateway.openai.script(faults.delay(UPSTREAM_TIMEOUT_S + 5))
    started = asyncio.get_running_loop().time()
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
    assert asyncio.get_running_loop().time() - started < UPSTREAM_TIMEOUT_S + 2
    (first,) = await attempts(gateway, 1)
    assert first == [("openai", "transient"), ("anthropic", "ok")]


async def test_a_wrong_provider_credential_fails_over_and_is_not_shown_to_the_client(gateway: Gateway) -> None:
    gateway.openai.script(faults.unauthorized(echo_key=True))
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"
    (first,) = await attempts(gateway, 1)
    assert first == [("openai", "auth"), ("anthropic", "ok")]


async def test_anthropic_overloaded_fails_over_to_openai(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.overloaded())
    async with client(gateway) as sdk:
        assert await provider_of(sdk, "claude") == "openai"


async def test_an_upstream_400_is_shown_to_the_client_and_not_failed_over(gateway: Gateway) -> None:
    gateway.openai.script(faults.Fault("error", status=400))  # a 400 that says nothing about the context window
    async with client(gateway) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.chat.completions.create(model="gpt", messages=HELLO)
    assert info.value.message.endswith("The server had an error while processing the request.")
    assert not gateway.anthropic.requests
    (row,) = await gateway.log_rows(1, "status, error_class, attempts")
    assert row[0] == 400 and row[1] == "bad_request"
    assert [(a["provider"], a["outcome"]) for a in row[2]] == [("openai", "bad_request")]


async def test_an_upstream_400_reaches_an_anthropic_client_in_anthropic_shape(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.Fault("error", status=400))
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0) as sdk:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk.messages.create(model="claude", max_tokens=8, messages=HELLO)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Internal server error"},
    }
    assert not gateway.openai.requests


async def test_a_context_overflow_moves_on_to_a_larger_context_window_only(gateway: Gateway) -> None:
    gateway.openai.script(faults.context_overflow())
    async with client(gateway) as sdk:
        assert await provider_of(sdk) == "anthropic"  # 128k -> 200k
        gateway.anthropic.script(faults.context_overflow())
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.chat.completions.create(model="claude", messages=HELLO)  # 200k -> 128k is no help
    assert info.value.code == "context_length_exceeded"
    assert len(gateway.openai.requests) == 1


async def test_every_provider_failing_is_a_502_naming_the_last_failure(gateway: Gateway) -> None:
    gateway.openai.script(faults.server_error(500), faults.server_error(500))  # the retry fails too
    gateway.anthropic.script(faults.server_error(503), faults.server_error(503))
    async with client(gateway) as sdk:
        with pytest.raises(openai.InternalServerError) as info:
            await sdk.chat.completions.create(model="gpt", messages=HELLO)
    assert info.value.status_code == 502 and "every provider for 'gpt' failed" in info.value.message
    assert "sk-" not in info.value.message
    (row,) = await gateway.log_rows(1, "status, error_class, cost_usd")
    assert row == (502, "transient", 0)


async def test_a_stream_fails_over_before_its_first_byte(gateway: Gateway) -> None:
    gateway.openai.script(faults.server_error(503), faults.server_error(503))
    async with client(gateway) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(model="gpt", messages=HELLO, stream=True)
        stream = raw.parse()
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert raw.headers["x-tokenhub-provider"] == "anthropic" and text == "echo: hello"
    sent = gateway.anthropic.requests[-1].json
    assert sent is not None and sent["stream"] is True


async def test_an_anthropic_stream_fails_over_to_openai_for_an_anthropic_client(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.rate_limited(retry_after=10))
    async with (
        anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0) as sdk,
        sdk.messages.stream(model="claude", max_tokens=16, messages=HELLO) as stream,
    ):
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["text"]
    (row,) = await gateway.log_rows(1, "status, provider, attempts")
    assert row[:2] == (200, "openai")
    assert orjson.loads(orjson.dumps(row[2]))[0]["outcome"] == "rate_limited"
