"""With OTEL tracing on, every model request is a server span and every upstream attempt a client span under it,
exported over OTLP/HTTP to a collector (here a real receiver on loopback, decoding what arrives with
opentelemetry-proto). The client's ``traceparent`` is the server span's parent; each attempt's own goes upstream.

Spans are read after ``gateway.stop()``: shutting down exports every span still queued, so nothing is waited for.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import pytest
import pytest_asyncio

from gateway import settings as settings_mod
from gateway.observability import tracing_settings
from tests.fakes import faults, otlp
from tests.plugins.gateway import Gateway

log = logging.getLogger(__name__)
HELLO: list[Any] = [{"role": "user", "content": "hello"}]
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
SHOWN = (  # the attributes the span tree in docs/observability.md shows
    "http.response.status_code",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "tokenhub.model",
    "tokenhub.provider",
    "tokenhub.cost_usd",
    "tokenhub.api_key.name",
    "tokenhub.decision.mode",
    "tokenhub.decision.chosen",
    "tokenhub.decision.candidates",
    "tokenhub.attempt",
    "tokenhub.failover.reason",
    "error.type",
)


@pytest_asyncio.fixture
async def collector() -> AsyncIterator[otlp.OtlpReceiver]:
    receiver = otlp.OtlpReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.close()


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings, collector: otlp.OtlpReceiver) -> settings_mod.Settings:
    return dataclasses.replace(
        gateway_settings,
        tracing=tracing_settings.TracingSettings(
            endpoint=collector.url, service_name="tokenhub-test", resource_attributes={"deployment.environment": "ci"}
        ),
    )


def sdk(gateway: Gateway, **headers: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0, default_headers=headers)


T = TypeVar("T")


def only(found: list[T]) -> T:
    assert len(found) == 1, found
    return found[0]


def traceparent_of(headers: Any) -> tuple[str, str]:
    found = TRACEPARENT.match(headers["traceparent"])
    assert found is not None, headers["traceparent"]
    return found.group(1), found.group(2)


async def test_a_failed_over_request_is_one_server_span_with_a_client_span_per_attempt(
    gateway: Gateway, collector: otlp.OtlpReceiver
) -> None:
    gateway.openai.script(faults.server_error(500), faults.server_error(500))
    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(model="gpt", messages=HELLO)
    assert raw.headers["x-tokenhub-provider"] == "anthropic"
    await gateway.stop()

    server = only(collector.named("POST /v1/chat/completions"))
    assert server.kind == "server" and server.parent_span_id == ""
    assert server.resource["service.name"] == "tokenhub-test"
    assert server.resource["deployment.environment"] == "ci"
    assert server["gen_ai.operation.name"] == "chat"
    assert server["gen_ai.request.model"] == "gpt"
    assert server["http.response.status_code"] == 200
    assert (server["tokenhub.model"], server["tokenhub.provider"]) == ("claude", "anthropic")
    assert server["tokenhub.api_key.name"] == "tester"
    assert server["gen_ai.usage.input_tokens"] == 1 and server["gen_ai.usage.output_tokens"] == 2
    assert server["tokenhub.cost_usd"] == pytest.approx((1 * 0.003 + 2 * 0.015) / 1000)
    assert server["tokenhub.decision.chosen"] == "gpt"
    assert server["tokenhub.decision.candidates"][0] == "gpt"
    assert server["tokenhub.decision.mode"] and server["tokenhub.decision.reason"]
    assert server.status != "error"

    first, retry, answered = collector.children(server)
    for span in (first, retry, answered):
        assert span.kind == "client" and span.trace_id == server.trace_id
    assert [s.name for s in (first, retry, answered)] == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "chat claude-fake-large",
    ]
    assert [s["tokenhub.attempt"] for s in (first, retry, answered)] == [1, 2, 3]
    for failed in (first, retry):
        assert failed.status == "error"
        assert failed["error.type"] == "transient" and failed["http.response.status_code"] == 500
        assert failed["gen_ai.provider.name"] == "openai" and failed["server.address"] == "127.0.0.1"
    assert "tokenhub.failover.reason" not in first.attributes
    assert retry["tokenhub.failover.reason"] == "transient"
    assert answered["tokenhub.failover.reason"] == "transient"
    assert answered.status != "error" and answered["http.response.status_code"] == 200
    assert answered["gen_ai.provider.name"] == "anthropic"
    assert answered["gen_ai.request.model"] == "claude-fake-large"
    assert answered["gen_ai.response.model"] == "claude-fake-large"
    assert answered["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert answered["gen_ai.usage.input_tokens"] == 1 and answered["gen_ai.usage.output_tokens"] == 2

    # Each attempt sent its own span as the upstream's parent.
    sent = [traceparent_of(r.headers) for r in gateway.openai.requests + gateway.anthropic.requests]
    assert sent == [(server.trace_id, s.span_id) for s in (first, retry, answered)]

    # docs/observability.md shows this tree (pytest --log-cli-level=INFO ... -k failed_over)
    tree = "\n".join(collector.tree(server, SHOWN))
    log.info("span tree of a failed-over request:\n%s", tree)


async def test_the_clients_traceparent_is_the_parent_and_goes_on_upstream(
    gateway: Gateway, collector: otlp.OtlpReceiver
) -> None:
    incoming = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    async with sdk(gateway, traceparent=incoming, tracestate="vendor=abc") as client:
        await client.chat.completions.create(model="gpt", messages=HELLO)
    await gateway.stop()

    server = only(collector.named("POST /v1/chat/completions"))
    assert (server.trace_id, server.parent_span_id) == (CLIENT_TRACE, CLIENT_SPAN)
    attempt = only(collector.children(server))
    upstream = only(gateway.openai.requests)
    assert traceparent_of(upstream.headers) == (CLIENT_TRACE, attempt.span_id)
    assert upstream.headers["tracestate"] == "vendor=abc"


async def test_a_stream_ends_its_spans_when_it_ends_and_records_the_first_token(
    gateway: Gateway, collector: otlp.OtlpReceiver
) -> None:
    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model="gpt", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "echo: hello"
    await gateway.stop()

    server = only(collector.named("POST /v1/chat/completions"))
    attempt = only(collector.children(server))
    assert server["tokenhub.stream"] is True and server["http.response.status_code"] == 200
    assert server["gen_ai.usage.output_tokens"] == 2
    ttft_s = server["gen_ai.server.time_to_first_token"]
    assert 0 < ttft_s <= (server.end_ns - server.start_ns) / 1e9
    (event, at), *_ = server.events
    assert event == "gen_ai.first_token" and server.start_ns < at <= server.end_ns
    assert attempt.name == "chat gpt-4o-mini" and attempt["gen_ai.usage.output_tokens"] == 2
    assert attempt["gen_ai.response.finish_reasons"] == ["stop"]
    assert attempt["gen_ai.response.model"] == "gpt-4o-mini"
    # The attempt lasts until the upstream's stream has ended; the server span until the client's has.
    assert server.start_ns <= attempt.start_ns and attempt.end_ns <= server.end_ns


async def test_a_stream_broken_after_its_first_byte_marks_the_attempt_and_the_request(
    gateway: Gateway, collector: otlp.OtlpReceiver
) -> None:
    gateway.anthropic.script(faults.Fault("cut_after", chunks=3))
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
    async with client, client.messages.stream(model="claude", max_tokens=50, messages=HELLO) as stream:
        with pytest.raises(anthropic.APIError):
            async for _ in stream:
                pass
    await gateway.stop()

    server = only(collector.named("POST /v1/messages"))
    attempt = only(collector.children(server))
    assert server["error.type"] == "stream_broken" and server["http.response.status_code"] == 200
    assert attempt.status == "error" and attempt["error.type"] == "stream_broken"
    assert attempt["gen_ai.provider.name"] == "anthropic"


async def test_embeddings_are_traced_as_their_operation(gateway: Gateway, collector: otlp.OtlpReceiver) -> None:
    async with sdk(gateway) as client:
        await client.embeddings.create(model="embed", input="hello world")
    await gateway.stop()

    server = only(collector.named("POST /v1/embeddings"))
    assert server["gen_ai.operation.name"] == "embeddings"
    attempt = only(collector.children(server))
    assert attempt.name == "embeddings text-embedding-3-small"
    assert traceparent_of(gateway.openai.requests[0].headers) == (server.trace_id, attempt.span_id)


async def test_a_refused_request_is_a_span_without_attempts(gateway: Gateway, collector: otlp.OtlpReceiver) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{gateway.base_url}/chat/completions", json={"model": "gpt", "messages": HELLO})
    assert answer.status_code == 401
    await gateway.stop()

    server = only(collector.named("POST /v1/chat/completions"))
    assert server["http.response.status_code"] == 401 and server["error.type"] == "unauthenticated"
    assert server.status != "error"  # a client's mistake is no server error
    assert collector.children(server) == []
