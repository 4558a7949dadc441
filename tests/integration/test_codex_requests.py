"""Codex's recorded requests sent to ``POST /v1/responses`` as Codex sends them, through every provider type.

A native Responses provider gets each body as sent (the model name aside), built-in tools included; a Chat-only
provider and Anthropic get it translated - ``web_search`` and ``tool_search`` left out and named in
``x-tokenhub-dropped-tools``, the ``multi_agent_v1`` namespace flat, ``apply_patch`` as a tool - and every answer
comes back as a whole Responses stream the official SDK reads, charged and logged.
"""

from __future__ import annotations

import pathlib
from typing import Any

import httpx
import orjson
import pydantic
import pytest
import pytest_asyncio
from openai.types.responses import ResponseStreamEvent

from gateway.providers.wire import anthropic_messages, openai_chat, sse
from tests.integration.test_responses_api import EXTRA, cost, upstream_of
from tests.plugins.gateway import Gateway

FIXTURES = pathlib.Path(__file__).parents[1] / "agents" / "fixtures" / "codex-0.171.0"
NAMES = sorted(f"{path.parent.name}/{path.stem}" for path in FIXTURES.glob("*/turn*-request*.json"))
# what Codex sends besides its key; host, length and encodings are httpx's to set
SENT_HEADERS = (
    "accept",
    "originator",
    "session-id",
    "thread-id",
    "user-agent",
    "x-client-request-id",
    "x-codex-beta-features",
    "x-codex-turn-metadata",
    "x-codex-window-id",
)
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


@pytest_asyncio.fixture
async def gw(gateway: Gateway) -> Gateway:
    await gateway.until_revision(await gateway.apply(EXTRA.format(url=gateway.vllm[0].url)))
    return gateway


def recorded(name: str) -> dict[str, Any]:
    value = orjson.loads((FIXTURES / f"{name}.json").read_bytes())
    assert isinstance(value, dict)
    return value


async def send(http: httpx.AsyncClient, gateway: Gateway, name: str, model: str) -> tuple[httpx.Response, list[Any]]:
    request = recorded(name)
    assert (request["method"], request["path"]) == ("POST", "/v1/responses")
    headers = {k: v for k, v in request["headers"].items() if k in SENT_HEADERS}
    headers |= {"authorization": f"Bearer {gateway.key}", "content-type": "application/json"}
    response = await http.post(
        "/v1/responses", content=orjson.dumps(request["json"] | {"model": model}), headers=headers
    )
    assert response.status_code == 200, response.text
    decoder = sse.SseDecoder()
    return response, [event.json() for event in decoder.feed(response.content) + decoder.flush()]


def test_every_recorded_codex_request_is_here() -> None:
    assert len(NAMES) == 6, NAMES


@pytest.mark.parametrize("model", ["gpt", "qwen", "claude"])
async def test_every_recorded_codex_request_is_answered_with_a_whole_stream(gw: Gateway, model: str) -> None:
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
        for name in NAMES:
            response, events = await send(http, gw, name, model)
            for event in events:
                EVENTS.validate_python(event)
            kinds = [event["type"] for event in events]
            assert kinds[:2] == ["response.created", "response.in_progress"], name
            assert kinds[-1] == "response.completed", name
            usage = events[-1]["response"]["usage"]
            assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
            sent = upstream_of(gw, model).requests[-1].json
            tools = recorded(name)["json"]["tools"]
            if model == "gpt":
                assert sent["tools"] == tools and sent["store"] is False, name
                assert "x-tokenhub-dropped-tools" not in response.headers
                continue
            dropped = [tool["type"] for tool in tools if tool["type"] in ("web_search", "tool_search")]
            assert response.headers["x-tokenhub-dropped-tools"].split(",") == dropped, name
            if model == "qwen":
                openai_chat.validate_request(sent)
                names = [t.get("function", t.get("custom", {})).get("name") for t in sent["tools"]]
            else:
                anthropic_messages.validate_request(sent)
                names = [t["name"] for t in sent["tools"]]
            assert "exec_command" in names, name
            if name.startswith("unknown-model/"):
                assert "multi_agent_v1__spawn_agent" in names, name
            else:
                assert "apply_patch" in names, name
    rows = await gw.log_rows(len(NAMES), "status, model, input_tokens, output_tokens, cost_usd, stream")
    for status, logged_model, input_tokens, output_tokens, charged, stream in rows:
        assert (status, logged_model, stream) == (200, model, True)
        assert input_tokens > 0 and output_tokens > 0
        assert charged == cost(model, input_tokens, output_tokens) > 0
