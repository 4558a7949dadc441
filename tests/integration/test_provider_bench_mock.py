"""The benchmark's mock upstream answers the adapters like an OpenAI-compatible server, usage included."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest_asyncio

from gateway.providers import base, registry, session
from tests.fakes import configs

MOCK = Path(__file__).resolve().parents[2] / "bench" / "mock_upstream.py"
BODY = orjson.dumps({"model": "mock-small", "messages": [{"role": "user", "content": "hi"}]})


@pytest_asyncio.fixture
async def mock_url() -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(MOCK), "--port", "0", "--stream-chunks", "4", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        yield line.decode().split(" on ", 1)[1].strip()
    finally:
        process.terminate()
        await process.wait()


async def test_the_mock_serves_completions_and_streams_with_usage(mock_url: str) -> None:
    config = base.ProviderConfig(
        name="bench/mock", type="openai-compatible", base_urls=(mock_url,), api_key=None, timeout_s=5.0
    )
    adapter = registry.create_adapter(config, session.client_factory(configs.LOOPBACK_EGRESS))  # the mock is local
    try:
        response = await adapter.send(base.UpstreamRequest(path="/chat/completions", body=BODY, request_id="b1"))
        streamed_body = orjson.dumps({**orjson.loads(BODY), "stream": True, "stream_options": {"include_usage": True}})
        stream = await adapter.open_stream(
            base.UpstreamRequest(path="/chat/completions", body=streamed_body, request_id="b2", stream=True)
        )
        relayed = b"".join([chunk async for chunk in stream])
        probe = await adapter.probe()
    finally:
        await adapter.close()
    reply = orjson.loads(response.body)
    assert reply["usage"] == {
        "prompt_tokens": len(BODY) // 4,
        "completion_tokens": 4,
        "total_tokens": len(BODY) // 4 + 4,
    }
    events = [block.removeprefix(b"data: ") for block in relayed.split(b"\n\n") if block]
    assert events[-1] == b"[DONE]"
    assert orjson.loads(events[-2])["usage"]["completion_tokens"] == 4
    assert probe.ok
