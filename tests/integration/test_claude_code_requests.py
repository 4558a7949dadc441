"""Claude Code's recorded requests sent to ``/v1/messages?beta=true`` as Claude Code sends them: an Anthropic
provider gets each one byte for byte (the model name aside) with its betas, an OpenAI provider a translated one
with the system messages in place, and both answers come back as a whole Messages stream."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gateway.providers.wire import openai_chat, sse
from tests.plugins.gateway import Gateway
from tests.unit.gateway.providers.wire import claude_code

# what Claude Code sends besides its key; host, length and encodings are httpx's to set
SENT_HEADERS = ("anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access", "x-app")


async def send(http: httpx.AsyncClient, gateway: Gateway, name: str, model: str) -> tuple[bytes, list[Any]]:
    recorded = claude_code.recorded(name)
    body = orjson.dumps(recorded["json"] | {"model": model})
    headers = {k: v for k, v in recorded["headers"].items() if k in SENT_HEADERS}
    headers |= {"x-api-key": gateway.key, "content-type": "application/json"}
    response = await http.post("/v1/messages", params={"beta": "true"}, content=body, headers=headers)
    assert response.status_code == 200, response.text
    decoder = sse.SseDecoder()
    events = [event.json() for event in decoder.feed(response.content) + decoder.flush()]
    return body, events


def check_stream(events: list[Any]) -> None:
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    usage = events[0]["message"]["usage"]
    assert {"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"} <= set(usage)


async def test_every_recorded_request_reaches_an_anthropic_provider_as_sent(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        for name in claude_code.names():
            body, events = await send(http, gateway, name, "claude")
            check_stream(events)
            sent = gateway.anthropic.requests[-1]
            assert sent.body == orjson.dumps(orjson.loads(body) | {"model": "claude-fake-large"}), name
            assert sent.headers["anthropic-beta"] == claude_code.recorded(name)["headers"]["anthropic-beta"]


async def test_recorded_requests_reach_an_openai_provider_translated(gateway: Gateway) -> None:
    # Claude Code's default max_tokens (128000) does not fit this model's 128K window: the variants asking 32000 do
    names = [n for n in claude_code.names() if n.startswith(("unknown-model/", "older-model/"))]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        for name in names:
            _, events = await send(http, gateway, name, "gpt")
            check_stream(events)
            sent = gateway.openai.requests[-1].json
            openai_chat.validate_request(sent)
            assert sent["model"] == "gpt-4o-mini" and sent["reasoning_effort"] == "high"
            assert not any("x-anthropic-billing-header" in str(m["content"]) for m in sent["messages"])
            if name.startswith("unknown-model/"):  # its reminders travel as a system message after the prompt
                roles = [m["role"] for m in sent["messages"]]
                assert roles[:4] == ["system", "system", "user", "system"], name
    rows = await gateway.log_rows(len(names))
    assert all(row[0] == 200 and row[2] == "openai" and row[3] > 0 for row in rows)
