"""The OpenAI adapter against a fake OpenAI server: bytes moved as sent, every failure in its class."""

from __future__ import annotations

import orjson
import pytest

from gateway.providers import base, errors
from tests.fakes import configs, faults, fixtures, upstreams
from tests.fakes.fixtures import OPENAI_KEY

openai_upstream = fixtures.openai_upstream  # until the top-level conftest registers tests.fakes.fixtures

CHAT = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]})
STREAM_CHAT = orjson.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
)


def chat(body: bytes = CHAT, *, stream: bool = False) -> base.UpstreamRequest:
    return base.UpstreamRequest(path="/chat/completions", body=body, request_id="req-123", stream=stream)


def config(
    fake: upstreams.FakeUpstream,
    *,
    api_key: str = OPENAI_KEY,
    timeout_s: float = 5.0,
    headers: tuple[tuple[str, str], ...] = (),
) -> base.ProviderConfig:
    return configs.provider_config(fake, "openai", api_key=api_key, timeout_s=timeout_s, headers=headers)


async def test_a_completion_comes_back_whole_with_the_upstream_usage(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    async with configs.adapter(config(openai_upstream)) as adapter:
        response = await adapter.send(chat())
    reply = orjson.loads(response.body)
    assert response.status == 200
    assert reply["choices"][0]["message"]["content"] == "echo: hello there"
    assert reply["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert response.elapsed_s > 0


async def test_the_request_carries_bearer_auth_request_id_and_the_exact_body(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    extra = (("OpenAI-Organization", "org-fake"),)
    async with configs.adapter(config(openai_upstream, headers=extra)) as adapter:
        await adapter.send(chat())
    [seen] = openai_upstream.requests
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert seen.headers["X-Request-Id"] == "req-123"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["OpenAI-Organization"] == "org-fake"
    assert seen.body == CHAT


async def test_a_server_without_a_key_gets_no_authorization_header(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    openai_upstream.api_key = None
    async with configs.adapter(configs.provider_config(openai_upstream, "openai-compatible")) as adapter:
        await adapter.send(chat())
    assert "Authorization" not in openai_upstream.requests[0].headers


async def test_a_stream_relays_every_event_and_ends_with_usage_and_done(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    async with configs.adapter(config(openai_upstream)) as adapter:
        stream = await adapter.open_stream(chat(STREAM_CHAT, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    events = [line.removeprefix(b"data: ") for line in relayed.split(b"\n\n") if line]
    assert events[-1] == b"[DONE]"
    final = orjson.loads(events[-2])
    assert final["choices"] == []
    assert final["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    text = "".join(orjson.loads(event)["choices"][0]["delta"].get("content") or "" for event in events[:-2])
    assert text == "echo: hello there"
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert 0 < stream.open_s <= stream.first_byte_s
    assert openai_upstream.requests[0].headers["Accept"] == "text/event-stream"


async def test_a_tool_call_reply_streams_its_arguments(openai_upstream: upstreams.OpenAIUpstream) -> None:
    openai_upstream.script(faults.tool_call("get_weather", '{"city": "Paris"}'))
    async with configs.adapter(config(openai_upstream)) as adapter:
        stream = await adapter.open_stream(chat(STREAM_CHAT, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    events = [orjson.loads(line[6:]) for line in relayed.split(b"\n\n") if line and line != b"data: [DONE]"]
    arguments = "".join(
        call["function"]["arguments"]
        for event in events
        for choice in event["choices"]
        for call in choice["delta"].get("tool_calls") or []
    )
    assert orjson.loads(arguments) == {"city": "Paris"}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_embeddings_are_posted_to_the_embeddings_path(openai_upstream: upstreams.OpenAIUpstream) -> None:
    body = orjson.dumps({"model": "text-embedding-3-small", "input": ["a b", "c"]})
    async with configs.adapter(config(openai_upstream)) as adapter:
        response = await adapter.send(base.UpstreamRequest(path="/embeddings", body=body, request_id="r"))
    reply = orjson.loads(response.body)
    assert [item["index"] for item in reply["data"]] == [0, 1]
    assert reply["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


FAULTS = [
    (faults.rate_limited(retry_after=2), errors.RateLimited, 429, 2.0),
    (faults.rate_limited(), errors.RateLimited, 429, None),
    (faults.server_error(500), errors.Transient, 500, None),
    (faults.server_error(503), errors.Transient, 503, None),
    (faults.overloaded(), errors.Transient, 529, None),
    (faults.unauthorized(), errors.AuthFailed, 401, None),
    (faults.context_overflow(), errors.ContextOverflow, 400, None),
    (faults.malformed_json(), errors.MalformedResponse, 200, None),
]


@pytest.mark.parametrize(("fault", "expected", "status", "retry_after"), FAULTS)
async def test_each_upstream_fault_raises_its_class(
    openai_upstream: upstreams.OpenAIUpstream,
    fault: faults.Fault,
    expected: type[errors.UpstreamError],
    status: int,
    retry_after: float | None,
) -> None:
    openai_upstream.script(fault)
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(expected) as caught:
            await adapter.send(chat())
    assert type(caught.value) is expected
    assert (caught.value.status, caught.value.retry_after) == (status, retry_after)
    assert caught.value.provider == "test/openai"


@pytest.mark.parametrize(("fault", "expected", "status", "retry_after"), FAULTS[:-1])
async def test_a_stream_that_fails_before_its_first_byte_raises_its_class(
    openai_upstream: upstreams.OpenAIUpstream,
    fault: faults.Fault,
    expected: type[errors.UpstreamError],
    status: int,
    retry_after: float | None,
) -> None:
    openai_upstream.script(fault)
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(expected) as caught:
            await adapter.open_stream(chat(STREAM_CHAT, stream=True))
    assert (type(caught.value), caught.value.status, caught.value.retry_after) == (expected, status, retry_after)


async def test_a_dropped_connection_is_transient(openai_upstream: upstreams.OpenAIUpstream) -> None:
    openai_upstream.script(faults.drop())
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(errors.Transient) as caught:
            await adapter.send(chat())
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, Exception)


async def test_a_body_cut_halfway_is_transient(openai_upstream: upstreams.OpenAIUpstream) -> None:
    openai_upstream.script(faults.cut_after(0))
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(errors.Transient):
            await adapter.send(chat())


async def test_an_upstream_slower_than_the_timeout_is_transient(openai_upstream: upstreams.OpenAIUpstream) -> None:
    openai_upstream.script(faults.delay(10), faults.delay(10))
    async with configs.adapter(config(openai_upstream, timeout_s=0.3)) as adapter:
        with pytest.raises(errors.Transient, match=r"no response within 0\.3s"):
            await adapter.send(chat())
        with pytest.raises(errors.Transient, match=r"no response within 0\.3s"):
            await adapter.open_stream(chat(STREAM_CHAT, stream=True))


@pytest.mark.parametrize("fault", [faults.stall_after(3), faults.cut_after(3)])
async def test_a_stream_failing_after_its_first_chunks_raises_stream_broken(
    openai_upstream: upstreams.OpenAIUpstream, fault: faults.Fault
) -> None:
    openai_upstream.script(fault)
    relayed = b""
    async with configs.adapter(config(openai_upstream, timeout_s=0.3)) as adapter:
        stream = await adapter.open_stream(chat(STREAM_CHAT, stream=True))
        with pytest.raises(errors.StreamBroken) as caught:
            async for chunk in stream:
                relayed += chunk
        await stream.aclose()
    assert relayed.count(b"data: ") == 3
    assert caught.value.provider == "test/openai"
    assert isinstance(caught.value.__cause__, Exception)


async def test_the_key_never_shows_in_an_error_even_when_the_upstream_echoes_it(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    openai_upstream.script(faults.unauthorized(echo_key=True))
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(errors.AuthFailed) as caught:
            await adapter.send(chat())
    assert OPENAI_KEY in openai_upstream.requests[0].headers["Authorization"]
    assert "Incorrect API key provided: ***" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert OPENAI_KEY not in text
    assert caught.value.body is not None
    assert OPENAI_KEY.encode() not in caught.value.body
    assert OPENAI_KEY not in repr(config(openai_upstream))


async def test_the_probe_lists_models_and_reports_a_rejected_key(openai_upstream: upstreams.OpenAIUpstream) -> None:
    async with configs.adapter(config(openai_upstream)) as adapter:
        healthy = await adapter.probe()
    async with configs.adapter(config(openai_upstream, api_key="sk-wrong")) as adapter:
        rejected = await adapter.probe()
    assert (healthy.ok, healthy.status, healthy.error_class) == (True, 200, None)
    assert (rejected.ok, rejected.status, rejected.error_class) == (False, 401, "auth")
    assert [(r.method, r.path) for r in openai_upstream.requests] == [("GET", "/v1/models")] * 2


async def test_a_connection_refused_is_a_connect_failure(openai_upstream: upstreams.OpenAIUpstream) -> None:
    await openai_upstream.close()
    async with configs.adapter(config(openai_upstream)) as adapter:
        with pytest.raises(errors.ConnectFailed):
            await adapter.send(chat())
        probe = await adapter.probe()
    assert (probe.ok, probe.status, probe.error_class) == (False, None, "transient")


async def test_connections_are_reused_across_requests(openai_upstream: upstreams.OpenAIUpstream) -> None:
    async with configs.adapter(config(openai_upstream)) as adapter:
        for _ in range(5):
            await adapter.send(chat())
    assert len({request.peer_port for request in openai_upstream.requests}) == 1
