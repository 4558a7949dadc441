"""Inbound limits hold before any work is done: the key before the body, deadlines on heads and bodies, caps on
head size, on requests in flight per process and per key. Each refusal is in the client's API shape and writes
exactly one request-log row (a connection that never named a request is counted, not logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from gateway import settings as settings_mod
from tests.fakes import faults
from tests.integration import inbound_client as raw
from tests.plugins.gateway import Gateway

TIMEOUT_S = 1.0  # header and body deadlines of this module's gateway
CAP = 3  # requests in flight on the model endpoints of this module's gateway
CHAT = b'{"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}'
UPLOAD = 10 * 1024 * 1024
WRONG_KEY = "thk_aaaaaaaaaaaaaaaa_" + "b" * 56


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings) -> settings_mod.Settings:
    return dataclasses.replace(
        gateway_settings,
        header_timeout_s=TIMEOUT_S,
        body_timeout_s=TIMEOUT_S,
        max_concurrent_requests=CAP,
    )


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the fake offers no event to wait on
            await asyncio.sleep(0.01)


def openai_shaped(body: object, kind: str) -> bool:
    return isinstance(body, dict) and body["error"]["type"] == kind and isinstance(body["error"]["message"], str)


def anthropic_shaped(body: object, kind: str) -> bool:
    return isinstance(body, dict) and body["type"] == "error" and body["error"]["type"] == kind


@pytest.mark.parametrize(
    ("path", "auth", "shaped"),
    [
        ("/v1/chat/completions", {}, openai_shaped),
        ("/v1/chat/completions", {"authorization": f"Bearer {WRONG_KEY}", "idempotency-key": "k-1"}, openai_shaped),
        ("/v1/messages", {"x-api-key": WRONG_KEY, "anthropic-version": "2023-06-01"}, anthropic_shaped),
        ("/v1/chat", {"authorization": f"Bearer {WRONG_KEY}"}, openai_shaped),
        ("/v1/embeddings", {}, openai_shaped),
    ],
)
async def test_an_unauthenticated_upload_is_answered_401_before_its_body_is_sent(
    gateway: Gateway, path: str, auth: dict[str, str], shaped: Callable[[object, str], bool]
) -> None:
    reader, writer = await raw.connect(gateway)
    try:
        headers = {"content-type": "application/json", "content-length": str(UPLOAD), **auth}
        writer.write(raw.head(path, headers) + CHAT[:20])  # 20 of the 10 MiB announced
        reply = await raw.read_reply(reader)
        assert reply.status == 401
        assert shaped(reply.json(), "authentication_error")
        # the rest of the body never comes: the connection is closed once the body deadline has passed
        assert await raw.closed_by_server(reader)
    finally:
        await raw.close(writer)
    (row,) = await gateway.log_rows(1, "status, error_class, key_id")
    assert row == (401, "unauthenticated", None)
    assert await raw.metric(gateway, "tokenhub_inbound_cut_total", reason="body_timeout") == 1
    assert not gateway.openai.requests and not gateway.anthropic.requests


async def test_a_body_slower_than_its_deadline_is_cut_with_a_408(gateway: Gateway) -> None:
    reader, writer = await raw.connect(gateway)
    started = asyncio.get_running_loop().time()
    try:
        headers = {"authorization": f"Bearer {gateway.key}", "content-length": str(len(CHAT))}
        writer.write(raw.head("/v1/chat/completions", headers) + CHAT[:10])
        reply = await raw.read_reply(reader)
        waited = asyncio.get_running_loop().time() - started
        assert reply.status == 408 and reply.headers["connection"] == "close"
        assert openai_shaped(reply.json(), "invalid_request_error")
        assert "did not arrive within" in reply.json()["error"]["message"]
        assert await raw.closed_by_server(reader, timeout_s=2)
    finally:
        await raw.close(writer)
    assert TIMEOUT_S <= waited < TIMEOUT_S + 3
    (row,) = await gateway.log_rows(1, "status, error_class, endpoint, key_id IS NOT NULL")
    assert row == (408, "request_timeout", "chat.completions", True)
    assert await raw.metric(gateway, "tokenhub_inbound_cut_total", reason="body_timeout") == 1
    assert not gateway.openai.requests


async def test_a_head_sent_a_byte_at_a_time_is_cut_at_its_deadline(gateway: Gateway) -> None:
    """Slowloris: every byte would reset a per-read timer; the head's deadline counts from its first byte."""
    reader, writer = await raw.connect(gateway)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"POST /v1/messages HTTP/1.1\r\nhost: gateway\r\nx-slow: ")

    async def drip() -> None:
        while True:
            writer.write(b"a")
            await asyncio.sleep(0.05)  # the slow client's pace, not a synchronisation

    dripping = asyncio.create_task(drip())
    try:
        reply = await raw.read_reply(reader)
        waited = loop.time() - started
        assert await raw.closed_by_server(reader, timeout_s=2)
    finally:
        dripping.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await dripping
        await raw.close(writer)
    assert reply.status == 408 and reply.headers["connection"] == "close"
    assert anthropic_shaped(reply.json(), "invalid_request_error")  # the path named the Anthropic API
    assert TIMEOUT_S <= waited < TIMEOUT_S + 3
    (row,) = await gateway.log_rows(1, "status, error_class, endpoint")
    assert row == (408, "request_timeout", "messages")
    assert await raw.metric(gateway, "tokenhub_inbound_cut_total", reason="header_timeout") == 1


async def test_an_endless_header_is_refused_431_after_64_kib(gateway: Gateway) -> None:
    reader, writer = await raw.connect(gateway)
    sent = 0
    try:
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nx-endless: ")
        reading = asyncio.create_task(raw.read_reply(reader))
        with contextlib.suppress(ConnectionError):
            while not reading.done() and sent < 4 * 1024 * 1024:
                writer.write(b"a" * 16384)
                await writer.drain()
                sent += 16384
                await asyncio.sleep(0)  # the server runs on this loop too: let it read
        reply = await reading
    finally:
        await raw.close(writer)
    assert reply.status == 431
    assert openai_shaped(reply.json(), "invalid_request_error")
    assert sent < 1024 * 1024, "the server stopped reading long before the header ended"
    (row,) = await gateway.log_rows(1, "status, error_class, endpoint")
    assert row == (431, "header_too_large", "chat.completions")
    assert await raw.metric(gateway, "tokenhub_inbound_cut_total", reason="header_too_large") == 1


async def test_a_silent_connection_is_closed_at_the_head_deadline_and_not_logged(gateway: Gateway) -> None:
    reader, writer = await raw.connect(gateway)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        assert await raw.closed_by_server(reader)
        waited = loop.time() - started
    finally:
        await raw.close(writer)
    assert TIMEOUT_S * 0.9 <= waited < TIMEOUT_S + 3
    assert await raw.metric(gateway, "tokenhub_inbound_cut_total", reason="header_timeout") == 1
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        listed = await http.get("/v1/models", headers={"authorization": f"Bearer {gateway.key}"})
    assert listed.status_code == 200
    assert await gateway.log_rows(1, "endpoint, status") == [("models", 200)]  # no row for the silent one


@contextlib.asynccontextmanager
async def held_upstream(gateway: Gateway, count: int) -> AsyncIterator[list[asyncio.Task[httpx.Response]]]:
    """``count`` chat requests in flight, held by the upstream until the block ends (then they finish 200)."""
    gateway.openai.script(*(faults.delay(0.8) for _ in range(count)))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        tasks = [
            asyncio.create_task(
                http.post(
                    "/v1/chat/completions",
                    content=CHAT,
                    headers={"authorization": f"Bearer {gateway.key}", "content-type": "application/json"},
                )
            )
            for _ in range(count)
        ]
        try:
            await until(lambda: len(gateway.openai.requests) == count)
            yield tasks
        finally:
            done = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in done), done


async def test_beyond_the_process_cap_a_request_gets_503_with_retry_after_at_once(gateway: Gateway) -> None:
    async with held_upstream(gateway, CAP), httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        assert await raw.metric(gateway, "tokenhub_requests_in_flight") == CAP
        refused = await http.post("/v1/chat/completions", content=CHAT, headers={"authorization": "Bearer x"})
        anthropic_refused = await http.post(
            "/v1/messages",
            content=CHAT,
            headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01"},
        )
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert openai_shaped(refused.json(), "server_error")
    assert "limit of 3 requests in flight" in refused.json()["error"]["message"]
    assert anthropic_refused.status_code == 503 and anthropic_shaped(anthropic_refused.json(), "overloaded_error")
    rows = await gateway.log_rows(CAP + 2, "endpoint, status, error_class")
    assert sorted(rows) == sorted(
        [("chat.completions", 200, None)] * CAP
        + [("chat.completions", 503, "overloaded"), ("messages", 503, "overloaded")]
    )
    assert len(gateway.openai.requests) == CAP  # the refused ones reached no upstream
    assert await raw.metric(gateway, "tokenhub_requests_in_flight") == 0


LIMITED_KEY = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: one-at-a-time}
spec: {scopes: [chat, embeddings, models], rateLimit: {concurrent: 1}}
"""


async def test_a_key_with_one_concurrent_request_gets_429_for_a_second_until_the_first_ends(gateway: Gateway) -> None:
    await gateway.until_revision(await gateway.apply(LIMITED_KEY))
    key = await gateway.issue_key("one-at-a-time")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    gateway.openai.script(faults.delay(0.8))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        first = asyncio.create_task(http.post("/v1/chat/completions", content=CHAT, headers=headers))
        await until(lambda: len(gateway.openai.requests) == 1)
        second = await http.post("/v1/chat/completions", content=CHAT, headers=headers)
        other_key = await http.post(
            "/v1/chat/completions", content=CHAT, headers={"authorization": f"Bearer {gateway.key}"}
        )
        assert (await first).status_code == 200
        third = await http.post("/v1/chat/completions", content=CHAT, headers=headers)
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert openai_shaped(second.json(), "rate_limit_error")
    assert second.json()["error"]["code"] == "concurrency_limit_exceeded"
    assert other_key.status_code == 200 and third.status_code == 200  # per key; and the slot came back
    rows = await gateway.log_rows(4, "status, error_class, key_name")
    limited = [(200, None, "one-at-a-time"), (429, "concurrency_limited", "one-at-a-time")]
    assert sorted(rows, key=str) == sorted([*limited, (200, None, "tester"), (200, None, "one-at-a-time")], key=str)


async def test_a_stream_holds_its_keys_slot_until_it_ends_even_when_the_client_leaves(gateway: Gateway) -> None:
    await gateway.until_revision(await gateway.apply(LIMITED_KEY))
    key = await gateway.issue_key("one-at-a-time")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    streamed = b'{"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
    gateway.openai.script(faults.stall_after(1))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        async with http.stream("POST", "/v1/chat/completions", content=streamed, headers=headers) as stream:
            assert stream.status_code == 200
            async for _ in stream.aiter_bytes():
                break  # the first event is through; the upstream stalls after it
            refused = await http.post("/v1/chat/completions", content=CHAT, headers=headers)
        # the client has left mid-stream: its slot comes back once the gateway has noticed
        await until_metric(gateway, "tokenhub_requests_in_flight", 0)
        again = await http.post("/v1/chat/completions", content=CHAT, headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "concurrency_limit_exceeded"
    assert again.status_code == 200
    rows = await gateway.log_rows(3, "status, error_class")
    assert (429, "concurrency_limited") in rows and (200, None) in rows
    # the stream's own row: the client left, unless a slow machine let the upstream's read timeout come first
    assert set(rows) - {(429, "concurrency_limited"), (200, None)} <= {(499, "client_closed"), (502, "stream_broken")}


async def until_metric(gateway: Gateway, name: str, value: float, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while await raw.metric(gateway, name) != value:  # noqa: ASYNC110 - a scrape is the signal a user has
            await asyncio.sleep(0.02)
