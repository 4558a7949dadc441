"""Built-in (hosted) tools: a native Responses upstream gets them as sent; a translated upstream cannot run them,
so they are refused with a 400 naming the tool - except the types ``TOKENHUB_RESPONSES_DROP_TOOLS`` lets drop
(by default ``web_search`` and ``tool_search``, which Codex offers on every request), which are left out with a
``x-tokenhub-dropped-tools`` header and a note in the request log."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
import pytest_asyncio

from tests.integration.test_responses_api import EXTRA, WEATHER, client, upstream_of
from tests.plugins.gateway import Gateway

WEB_SEARCH: Any = {"type": "web_search", "external_web_access": True}
FILE_SEARCH: Any = {"type": "file_search", "vector_store_ids": ["vs_1"]}
FORCE_WEB_SEARCH: Any = {"type": "web_search"}


SONNET = """
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: sonnet}
spec: {providerRef: anthropic, upstreamModel: claude-fake-small, capabilities: [chat, tools]}
"""


@pytest_asyncio.fixture
async def gw(gateway: Gateway) -> Gateway:
    await gateway.until_revision(await gateway.apply(EXTRA.format(url=gateway.vllm[0].url) + SONNET))
    return gateway


async def test_a_native_upstream_gets_built_in_tools_as_sent(gw: Gateway) -> None:
    async with client(gw) as sdk:
        raw = await sdk.responses.with_raw_response.create(
            model="gpt", input="search", tools=[WEB_SEARCH, FILE_SEARCH], store=False
        )
    assert "x-tokenhub-dropped-tools" not in raw.headers
    assert gw.openai.requests[-1].json["tools"] == [WEB_SEARCH, FILE_SEARCH]


@pytest.mark.parametrize("model", ["qwen", "sonnet"])  # no fallback to a native upstream for these two
async def test_a_built_in_tool_for_a_translated_upstream_is_a_400_naming_it(gw: Gateway, model: str) -> None:
    async with client(gw) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.responses.create(model=model, input="search files", tools=[WEATHER, FILE_SEARCH], store=False)
    body = info.value.body
    assert isinstance(body, dict) and body["param"] == "tools[1].type"
    assert "'file_search' is a built-in tool" in body["message"]
    assert upstream_of(gw, "claude" if model == "sonnet" else model).requests == []
    (row,) = await gw.log_rows(1, "status, error_class")
    assert row == (400, "invalid_request")


@pytest.mark.parametrize("model", ["qwen", "claude"])
async def test_web_search_is_dropped_for_a_translated_upstream_and_the_client_is_told(gw: Gateway, model: str) -> None:
    async with client(gw) as sdk:
        raw = await sdk.responses.with_raw_response.create(
            model=model, input="hello", tools=[WEATHER, WEB_SEARCH], store=False
        )
    assert raw.parse().output_text == "echo: hello"
    assert raw.headers["x-tokenhub-dropped-tools"] == "web_search"
    sent = upstream_of(gw, model).requests[-1].json
    assert [tool.get("name") or tool["function"]["name"] for tool in sent["tools"]] == ["get_weather"]
    (attempts,) = await gw.log_rows(1, "attempts")
    logged = attempts[0] if isinstance(attempts[0], list) else orjson.loads(attempts[0])
    assert logged[-1]["dropped_tools"] == ["web_search"]
    assert await gw.metric("tokenhub_responses_tools_dropped_total", tool="web_search") == 1


async def test_web_search_forced_by_tool_choice_is_refused_not_dropped(gw: Gateway) -> None:
    async with client(gw) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.responses.create(
                model="qwen", input="search", tools=[WEB_SEARCH], tool_choice=FORCE_WEB_SEARCH, store=False
            )
    assert isinstance(info.value.body, dict) and "web_search" in info.value.body["message"]


async def test_a_built_in_tool_fails_over_to_a_native_upstream_when_there_is_one(gw: Gateway) -> None:
    """``claude`` falls back to ``gpt``: the Anthropic candidate cannot take file_search, the native one can."""
    async with client(gw) as sdk:
        raw = await sdk.responses.with_raw_response.create(
            model="claude", input="search files", tools=[FILE_SEARCH], store=False
        )
    assert raw.headers["x-tokenhub-provider"] == "openai"
    assert gw.anthropic.requests == []
