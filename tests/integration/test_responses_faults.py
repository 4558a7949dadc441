"""``/v1/responses`` when upstreams fail: failover before the first byte, ``error`` and ``response.failed`` after it
(charged for what was produced), errors in OpenAI's shape, and ``Idempotency-Key`` like the other model routes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import openai
import orjson
import pytest
import pytest_asyncio
from openai.types.responses import Response

from tests.fakes import faults
from tests.integration.test_responses_api import EXTRA, client, cost, upstream_of
from tests.plugins.gateway import Gateway

COLUMNS = "status, error_class, model, provider, input_tokens, output_tokens, usage_estimated, cost_usd, stream"


@pytest_asyncio.fixture
async def gw(gateway: Gateway) -> Gateway:
    await gateway.until_revision(await gateway.apply(EXTRA.format(url=gateway.vllm[0].url)))
    return gateway


async def events_of(gateway: Gateway, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream's events as the client reads them off the wire (named SSE events, JSON data)."""
    async with (
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
        http.stream(
            "POST", "/responses", json={**body, "stream": True}, headers={"authorization": f"Bearer {gateway.key}"}
        ) as reply,
    ):
        assert reply.status_code == 200
        text = (await reply.aread()).decode()
    events = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        assert lines[0].startswith("event: "), block
        data = orjson.loads(lines[1].removeprefix("data: "))
        assert data["type"] == lines[0].removeprefix("event: ")
        events.append(data)
    return events


@pytest.mark.parametrize("stream", [False, True])
async def test_a_429_before_the_first_byte_fails_over_to_the_fallback(gw: Gateway, stream: bool) -> None:
    gw.openai.script(faults.rate_limited(retry_after=30))
    response: Response
    async with client(gw) as sdk:
        if stream:
            async with sdk.responses.stream(model="gpt", input="fail over", store=False) as events:
                response = await events.get_final_response()
        else:
            response = await sdk.responses.create(model="gpt", input="fail over", store=False)
    assert response.output_text == "echo: fail over"
    assert gw.anthropic.requests[-1].path == "/v1/messages"
    (row,) = await gw.log_rows(1, COLUMNS)
    assert row[:4] == (200, None, "claude", "anthropic")  # the fallback answered


@pytest.mark.parametrize(("model", "cut"), [("gpt", 4), ("qwen", 3), ("claude", 5)])
async def test_a_stream_cut_after_its_first_byte_ends_failed_and_is_charged(gw: Gateway, model: str, cut: int) -> None:
    upstream_of(gw, model).script(faults.cut_after(cut))
    events = await events_of(gw, {"model": model, "input": "one two three four five", "store": False})
    kinds = [event["type"] for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-2:] == ["error", "response.failed"]
    numbers = [event["sequence_number"] for event in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"].startswith("the upstream stream")
    (row,) = await gw.log_rows(1, COLUMNS)
    assert row[:4] == (502, "stream_broken", model, row[3])
    assert row[7] == cost(model, row[4], row[5]) and row[7] > 0
    assert row[8] is True


@pytest.mark.parametrize("model", ["gpt", "qwen", "claude"])
async def test_an_error_inside_the_upstream_stream_reaches_the_client_as_response_failed(
    gw: Gateway, model: str
) -> None:
    upstream_of(gw, model).script(faults.error_event_after(3))
    events = await events_of(gw, {"model": model, "input": "one two three", "store": False})
    assert [event["type"] for event in events][-2:] == ["error", "response.failed"]
    (row,) = await gw.log_rows(1, COLUMNS)
    assert row[0] == 502 and row[1] == "stream_broken"


async def test_a_failed_stream_is_not_stored(gw: Gateway) -> None:
    gw.vllm[0].script(faults.cut_after(3))
    events = await events_of(gw, {"model": "qwen", "input": "cut me"})
    failed_id = events[-1]["response"]["id"]
    async with client(gw) as sdk:
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(failed_id)


async def test_every_provider_failing_is_a_502_in_openais_error_shape(gw: Gateway) -> None:
    gw.openai.script(faults.server_error(), faults.server_error())
    gw.anthropic.script(faults.server_error(), faults.server_error())
    async with client(gw) as sdk:
        with pytest.raises(openai.InternalServerError) as info:
            await sdk.responses.create(model="gpt", input="nobody answers", store=False)
    assert info.value.status_code == 502
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "server_error" and "every provider" in body["message"]


async def test_an_upstream_400_is_shown_to_the_client(gw: Gateway) -> None:
    gw.openai.script(faults.Fault("error", status=400, error="server_error"))
    async with client(gw) as sdk:
        with pytest.raises(openai.BadRequestError):
            await sdk.responses.create(model="gpt", input="bad", store=False)
    assert gw.anthropic.requests == [], "the client's own mistake is not failed over"


async def test_an_invalid_body_is_a_400_naming_the_field(gw: Gateway) -> None:
    async with client(gw) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.responses.create(model="gpt", input="x", max_output_tokens=3)
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "max_output_tokens"
    (row,) = await gw.log_rows(1, "endpoint, status, error_class")
    assert row == ("responses", 400, "invalid_request")


async def test_an_unknown_model_is_a_404(gw: Gateway) -> None:
    async with client(gw) as sdk:
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.create(model="nope", input="x", store=False)


async def test_an_idempotency_key_replays_the_first_answer(gw: Gateway) -> None:
    headers = {"Idempotency-Key": "responses-once-0001"}
    async with client(gw) as sdk:
        first = await sdk.responses.with_raw_response.create(
            model="qwen", input="only once", store=False, extra_headers=headers
        )
        second = await sdk.responses.with_raw_response.create(
            model="qwen", input="only once", store=False, extra_headers=headers
        )
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.parse().id == first.parse().id
    assert len(gw.vllm[0].requests) == 1
    rows = await gw.log_rows(1, "status, cost_usd")
    assert sum(row[1] for row in rows) == Decimal(rows[0][1])


@pytest.mark.parametrize(("field", "value"), [("background", True), ("conversation", "conv_123")])
async def test_objects_that_would_live_at_the_upstreams_account_are_refused(
    gw: Gateway, field: str, value: Any
) -> None:
    """Background responses would finish unmetered, and conversations are shared by every key of the account."""
    async with client(gw) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.responses.create(model="gpt", input="x", extra_body={field: value})
    assert isinstance(info.value.body, dict) and info.value.body["param"] == field
    assert gw.openai.requests == []
