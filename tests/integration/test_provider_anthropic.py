"""The Anthropic adapter against a fake Messages API: its headers, its SSE events, its error classes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers import base, errors
from tests.fakes import configs, faults, fixtures, upstreams
from tests.fakes.fixtures import ANTHROPIC_KEY

anthropic_upstream = fixtures.anthropic_upstream  # until the top-level conftest registers tests.fakes.fixtures

MESSAGE = orjson.dumps(
    {
        "model": "claude-fake-large",
        "max_tokens": 100,
        "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "what is up"}]}],
    }
)
STREAM_MESSAGE = orjson.dumps({**orjson.loads(MESSAGE), "stream": True})


def message(
    body: bytes = MESSAGE, *, stream: bool = False, headers: tuple[tuple[str, str], ...] = ()
) -> base.UpstreamRequest:
    return base.UpstreamRequest(path="/messages", body=body, request_id="req-a1", stream=stream, headers=headers)


def config(fake: upstreams.FakeUpstream, *, timeout_s: float = 5.0) -> base.ProviderConfig:
    return configs.provider_config(fake, "anthropic", api_key=ANTHROPIC_KEY, timeout_s=timeout_s)


def events(relayed: bytes) -> list[tuple[str, Any]]:
    parsed = []
    for block in relayed.decode().split("\n\n"):
        if block:
            event_line, data_line = block.split("\n")
            parsed.append((event_line.removeprefix("event: "), orjson.loads(data_line.removeprefix("data: "))))
    return parsed


async def test_a_message_comes_back_with_input_and_output_tokens(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        response = await adapter.send(message())
    reply = orjson.loads(response.body)
    assert reply["content"] == [{"type": "text", "text": "echo: what is up"}]
    assert reply["usage"] == {"input_tokens": 5, "output_tokens": 4}
    assert reply["stop_reason"] == "end_turn"


async def test_the_request_carries_the_api_key_and_the_default_version(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        await adapter.send(message())
    [seen] = anthropic_upstream.requests
    assert (seen.method, seen.path) == ("POST", "/v1/messages")
    assert seen.headers["x-api-key"] == ANTHROPIC_KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["X-Request-Id"] == "req-a1"
    assert "Authorization" not in seen.headers
    assert seen.body == MESSAGE


async def test_the_client_may_choose_the_version_and_betas_but_not_the_key(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    passed = (
        ("Anthropic-Version", "2024-01-01"),
        ("anthropic-beta", "tools-2024-05-16"),
        ("x-api-key", "sk-ant-someone-else"),
    )
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        await adapter.send(message(headers=passed))
    seen = anthropic_upstream.requests[0].headers
    assert seen.getall("anthropic-version") == ["2024-01-01"]
    assert seen["anthropic-beta"] == "tools-2024-05-16"
    assert seen.getall("x-api-key") == [ANTHROPIC_KEY]


async def test_a_stream_relays_the_full_event_sequence(anthropic_upstream: upstreams.AnthropicUpstream) -> None:
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        stream = await adapter.open_stream(message(STREAM_MESSAGE, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    sequence = events(relayed)
    names = [name for name, _ in sequence]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(str(data["delta"]["text"]) for name, data in sequence if name == "content_block_delta")
    assert text == "echo: what is up"
    assert sequence[-2][1]["usage"] == {"output_tokens": 4}


async def test_a_tool_use_stream_sends_its_input_as_json_deltas(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    anthropic_upstream.script(faults.tool_call("lookup", '{"query": "weather in Paris"}'))
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        stream = await adapter.open_stream(message(STREAM_MESSAGE, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    sequence = events(relayed)
    block = sequence[1][1]["content_block"]
    assert block == {"type": "tool_use", "id": "toolu_fake_1", "name": "lookup", "input": {}}
    deltas = [data["delta"] for name, data in sequence if name == "content_block_delta"]
    assert {delta["type"] for delta in deltas} == {"input_json_delta"}
    assert orjson.loads("".join(delta["partial_json"] for delta in deltas)) == {"query": "weather in Paris"}
    assert sequence[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


@pytest.mark.parametrize(
    ("fault", "expected", "status"),
    [
        (faults.rate_limited(retry_after=30), errors.RateLimited, 429),
        (faults.overloaded(), errors.RateLimited, 529),
        (faults.server_error(500), errors.Transient, 500),
        (faults.unauthorized(), errors.AuthFailed, 401),
        (faults.context_overflow(), errors.ContextOverflow, 400),
        (faults.malformed_json(), errors.MalformedResponse, 200),
    ],
)
async def test_each_anthropic_fault_raises_its_class(
    anthropic_upstream: upstreams.AnthropicUpstream,
    fault: faults.Fault,
    expected: type[errors.UpstreamError],
    status: int,
) -> None:
    anthropic_upstream.script(fault)
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        with pytest.raises(expected) as caught:
            await adapter.send(message())
    assert (type(caught.value), caught.value.status) == (expected, status)


async def test_overloaded_while_opening_a_stream_is_rate_limiting(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    anthropic_upstream.script(faults.overloaded())
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        with pytest.raises(errors.RateLimited, match="Overloaded"):
            await adapter.open_stream(message(STREAM_MESSAGE, stream=True))


async def test_a_stream_cut_after_message_start_is_broken(anthropic_upstream: upstreams.AnthropicUpstream) -> None:
    anthropic_upstream.script(faults.cut_after(2))
    relayed = b""
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        stream = await adapter.open_stream(message(STREAM_MESSAGE, stream=True))
        with pytest.raises(errors.StreamBroken, match="stream cut"):
            async for chunk in stream:
                relayed += chunk
    assert [name for name, _ in events(relayed)] == ["message_start", "content_block_start"]


async def test_the_key_is_scrubbed_from_an_echoed_authentication_error(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    anthropic_upstream.script(faults.unauthorized(echo_key=True))
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        with pytest.raises(errors.AuthFailed) as caught:
            await adapter.send(message())
    assert "invalid x-api-key: ***" in str(caught.value)
    assert ANTHROPIC_KEY not in repr(caught.value)
    assert caught.value.body is not None
    assert ANTHROPIC_KEY.encode() not in caught.value.body


async def test_the_probe_lists_models_with_key_and_version(anthropic_upstream: upstreams.AnthropicUpstream) -> None:
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        result = await adapter.probe()
    assert (result.ok, result.status, result.error_class) == (True, 200, None)
    [seen] = anthropic_upstream.requests
    assert (seen.method, seen.path) == ("GET", "/v1/models")
    assert seen.headers["x-api-key"] == ANTHROPIC_KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"


async def test_an_in_stream_error_event_is_relayed_as_bytes_for_the_wire_layer(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    anthropic_upstream.script(faults.error_event_after(1))
    async with configs.adapter(config(anthropic_upstream)) as adapter:
        stream = await adapter.open_stream(message(STREAM_MESSAGE, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    assert events(relayed) == [
        ("message_start", events(relayed)[0][1]),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
