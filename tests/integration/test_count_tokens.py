"""``client.messages.count_tokens`` through TokenHub: Anthropic's own count when an Anthropic provider would
answer, the gateway's estimate otherwise or when that provider fails; never charged, always logged once."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import psycopg
import pytest

from gateway.serving import count_tokens
from tests.fakes import faults
from tests.plugins.gateway import Gateway

COLUMNS = "endpoint, status, model, provider, input_tokens, output_tokens, cost_usd, error_class, attempts"
MESSAGES: Any = [
    {"role": "user", "content": "how many tokens are these words"},
    {"role": "system", "content": "answer in one line"},
]


def client(gateway: Gateway, key: str | None = None) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key or gateway.key, max_retries=0)


def estimate() -> int:
    return count_tokens.input_tokens({"system": "be brief", "messages": MESSAGES})


async def test_an_anthropic_provider_counts_with_its_own_endpoint(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.messages.with_raw_response.count_tokens(model="claude", system="be brief", messages=MESSAGES)
    counted = await raw.parse()
    assert counted.input_tokens == 12  # the fake counts words: 2 of system, 6 + 4 of messages
    assert raw.headers["x-tokenhub-token-count"] == "exact" and raw.headers["x-tokenhub-provider"] == "anthropic"
    (sent,) = gateway.anthropic.requests
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json == {"model": "claude-fake-large", "system": "be brief", "messages": MESSAGES}
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:8] == ("messages.count_tokens", 200, "claude", "anthropic", 0, 0, 0, None)
    assert [(a["provider"], a["outcome"]) for a in row[8]] == [("anthropic", "ok")]


async def test_another_provider_type_gets_the_gateways_estimate(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.messages.with_raw_response.count_tokens(model="gpt", system="be brief", messages=MESSAGES)
    assert (await raw.parse()).input_tokens == estimate() > 0
    assert raw.headers["x-tokenhub-token-count"] == "estimate" and raw.headers["x-tokenhub-provider"] == "openai"
    assert gateway.openai.requests == []
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:8] == ("messages.count_tokens", 200, "gpt", "openai", 0, 0, 0, None) and row[8] == []


@pytest.mark.parametrize(
    "fault", [faults.rate_limited(retry_after=30), faults.server_error(503), faults.invalid_request(404)]
)
async def test_a_failing_anthropic_counter_falls_back_to_the_estimate_and_keeps_its_health(
    gateway: Gateway, fault: faults.Fault
) -> None:
    gateway.anthropic.script(fault)
    async with client(gateway) as sdk:
        raw = await sdk.messages.with_raw_response.count_tokens(model="claude", system="be brief", messages=MESSAGES)
        assert (await raw.parse()).input_tokens == estimate()
        assert raw.headers["x-tokenhub-token-count"] == "estimate"
        # counting has its own limits at Anthropic: a failed count does not cool the provider down for Messages
        answered = await sdk.messages.with_raw_response.create(model="claude", max_tokens=8, messages=MESSAGES)
    assert answered.headers["x-tokenhub-provider"] == "anthropic"
    rows = await gateway.log_rows(2, COLUMNS)
    assert rows[0][:2] == ("messages.count_tokens", 200)
    outcome = {429: "rate_limited", 503: "transient", 404: "bad_request"}[fault.status]
    assert [(a["outcome"], a["status"]) for a in rows[0][8]] == [(outcome, fault.status)]


@pytest.mark.parametrize("fault", [faults.malformed_json(), faults.wrong_shape()])
async def test_an_answer_without_a_count_falls_back_to_the_estimate(gateway: Gateway, fault: faults.Fault) -> None:
    gateway.anthropic.script(fault)
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        reply = await http.post(
            "/v1/messages/count_tokens",
            json={"model": "claude", "messages": MESSAGES},
            headers={"x-api-key": gateway.key},
        )
    assert reply.status_code == 200 and reply.headers["x-tokenhub-token-count"] == "estimate"
    assert reply.json() == {"input_tokens": count_tokens.input_tokens({"messages": MESSAGES})}
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert [a["outcome"] for a in row[8]] == ["malformed_response"]


async def test_the_providers_refusal_of_the_request_is_the_clients_error(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.invalid_request())
    async with client(gateway) as sdk:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk.messages.count_tokens(model="claude", messages=MESSAGES)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Extra inputs are not permitted"},
    }
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[1] == 400 and row[7] == "bad_request" and row[6] == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "claude"}, "messages"),
        ({"model": "claude", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "claude", "messages": [{"role": "user", "content": "x"}], "stream": True}, "stream"),
    ],
)
async def test_invalid_counts_are_refused_in_anthropics_shape(
    gateway: Gateway, body: dict[str, Any], param: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        reply = await http.post("/v1/messages/count_tokens", json=body, headers={"x-api-key": gateway.key})
    assert reply.status_code == 400
    error = reply.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(param)
    assert gateway.anthropic.requests == []
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:2] == ("messages.count_tokens", 400) and row[7] == "invalid_request"


async def test_unknown_models_and_keys_are_refused_like_messages(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        with pytest.raises(anthropic.NotFoundError):
            await sdk.messages.count_tokens(model="nope", messages=MESSAGES)
    async with client(gateway, key="thk_nope_nope") as sdk:
        with pytest.raises(anthropic.AuthenticationError):
            await sdk.messages.count_tokens(model="claude", messages=MESSAGES)
    rows = await gateway.log_rows(2, "endpoint, status, error_class")
    assert rows == [
        ("messages.count_tokens", 404, "model_not_found"),
        ("messages.count_tokens", 401, "unauthenticated"),
    ]


async def test_a_count_is_never_charged(gateway: Gateway) -> None:
    revision = await gateway.apply(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {name: budgeted}
        spec: {scopes: [chat], monthlyBudgetUSD: 1}
        """
    )
    await gateway.until_revision(revision)
    key = await gateway.issue_key("budgeted")
    async with client(gateway, key) as sdk:
        for model in ("claude", "gpt"):
            await sdk.messages.count_tokens(model=model, messages=MESSAGES)
    await gateway.log_rows(2)
    await gateway.flush_logs()
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        charged = await (await conn.execute("SELECT count(*) FROM budget_charges")).fetchone()
    assert charged == (0,)
