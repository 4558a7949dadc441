"""Pytest fixtures starting the fake upstreams; a conftest registers this module as a plugin.

The OpenAI and Anthropic fakes require the keys below, as the real services do; the vLLM fakes take none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes import upstreams

OPENAI_KEY = "sk-fake-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-fake-0123456789"
VLLM_INSTANCES = 3


@pytest_asyncio.fixture
async def openai_upstream() -> AsyncIterator[upstreams.OpenAIUpstream]:
    async with upstreams.OpenAIUpstream(api_key=OPENAI_KEY) as fake:
        yield fake


@pytest_asyncio.fixture
async def anthropic_upstream() -> AsyncIterator[upstreams.AnthropicUpstream]:
    async with upstreams.AnthropicUpstream(api_key=ANTHROPIC_KEY) as fake:
        yield fake


@pytest_asyncio.fixture
async def vllm_upstreams() -> AsyncIterator[tuple[upstreams.VLLMUpstream, ...]]:
    fakes = tuple(upstreams.VLLMUpstream() for _ in range(VLLM_INSTANCES))
    try:
        for fake in fakes:
            await fake.start()
        yield fakes
    finally:
        for fake in fakes:
            await fake.close()
