"""An attempt that failed after its request reached the provider is charged by estimate, one that never left is
free, and failover charges every attempt that reached a provider: the request log shows each with its charge, and
the row's cost, which the budget is charged, is their sum (docs/accounting.md, "Failed attempts")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from gateway import tokens
from tests.fakes import faults
from tests.plugins.gateway import Gateway
from tests.plugins.processes import free_port

TEXT = "count the apples in this sentence please"
BODY: dict[str, Any] = {"model": "gpt", "max_tokens": 32, "messages": [{"role": "user", "content": TEXT}]}
GPT_INPUT = Decimal("0.00015")
CLAUDE_INPUT = Decimal("0.003")
COLUMNS = "request_id, status, cost_usd, usage_estimated, attempts"
KEYS = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: budgeted}
spec: {scopes: [chat], monthlyBudgetUSD: 5}
"""
NOWHERE = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: nowhere}}
spec: {{type: openai-compatible, baseURL: "http://127.0.0.1:{port}/v1", timeoutSeconds: 1}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: nowhere}}
spec: {{providerRef: nowhere, upstreamModel: m, pricing: {{inputPer1K: 1, outputPer1K: 1}}}}
---
apiVersion: tokenhub.io/v1alpha1
kind: RoutingPolicy
metadata: {{name: default}}
spec:
  default: true
  fallbacks:
    - {{model: gpt, to: [claude]}}
    - {{model: claude, to: [gpt]}}
    - {{model: nowhere, to: [gpt]}}
"""


def estimate_cost(input_per_1k: Decimal) -> Decimal:
    """What a failed attempt that reached the provider is charged: routing's estimate of the prompt."""
    return input_per_1k * tokens.estimate_input([TEXT]) / 1000


async def budgeted(gateway: Gateway, extra: str = "") -> str:
    await gateway.until_revision(await gateway.apply(KEYS + (f"---{extra}" if extra else "")))
    return await gateway.issue_key("budgeted")


async def send(gateway: Gateway, key: str, body: dict[str, Any] = BODY) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        if not body.get("stream"):
            return await http.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
        async with http.stream(
            "POST", "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
        ) as response:
            await response.aread()
        return response


async def logged_and_charged(gateway: Gateway) -> tuple[Any, ...]:
    """The one request-log row, once the budget journal holds its charge: it must be the row's cost."""
    (row,) = await gateway.log_rows(1, COLUMNS)
    await gateway.flush_logs()
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        cur = await conn.execute(
            "SELECT coalesce(sum(cost_usd), 0) FROM budget_charges WHERE request_id = %s", [row[0]]
        )
        charged = (await cur.fetchone() or (0,))[0]
    assert Decimal(charged) == row[2]
    return tuple(row[1:])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_timeout_after_sending_is_charged_and_failover_charges_each_attempt(
    gateway: Gateway, stream: bool
) -> None:
    key = await budgeted(gateway)
    gateway.openai.script(faults.delay(30))  # holds the request past the provider's 1 s timeout
    response = await send(gateway, key, {**BODY, "stream": stream})
    assert response.status_code == 200 and response.headers["x-tokenhub-model"] == "claude"
    assert len(gateway.openai.requests) == 1  # the body did reach the first provider
    status, cost, estimated, attempts = await logged_and_charged(gateway)
    assert status == 200 and estimated is True
    assert [(a["model"], a["outcome"]) for a in attempts] == [("gpt", "transient"), ("claude", "ok")]
    first, answered = attempts
    assert Decimal(first["cost_usd"]) == estimate_cost(GPT_INPUT) > 0
    assert (first["input_tokens"], first["output_tokens"], first["usage_estimated"]) == (
        tokens.estimate_input([TEXT]),
        0,
        True,
    )
    assert Decimal(answered["cost_usd"]) > 0
    assert cost == Decimal(first["cost_usd"]) + Decimal(answered["cost_usd"])


@pytest.mark.parametrize("fault", [faults.drop(), faults.cut_after(1)], ids=["no answer", "cut mid-body"])
async def test_a_connection_cut_after_sending_is_charged_on_every_provider_it_reached(
    gateway: Gateway, fault: faults.Fault
) -> None:
    key = await budgeted(gateway)
    gateway.openai.script(fault)
    gateway.anthropic.script(fault)
    response = await send(gateway, key)
    assert response.status_code == 502
    status, cost, estimated, attempts = await logged_and_charged(gateway)
    assert status == 502 and estimated is True
    assert [a["model"] for a in attempts] == ["gpt", "claude"]
    assert [Decimal(a["cost_usd"]) for a in attempts] == [estimate_cost(GPT_INPUT), estimate_cost(CLAUDE_INPUT)]
    assert cost == estimate_cost(GPT_INPUT) + estimate_cost(CLAUDE_INPUT)


async def test_a_refused_connection_is_free_and_only_the_provider_that_answered_is_charged(gateway: Gateway) -> None:
    key = await budgeted(gateway, NOWHERE.format(port=free_port()))  # nothing listens there
    response = await send(gateway, key, {**BODY, "model": "nowhere"})
    assert response.status_code == 200 and response.headers["x-tokenhub-model"] == "gpt", response.text
    status, cost, estimated, attempts = await logged_and_charged(gateway)
    assert [(a["model"], a["outcome"]) for a in attempts] == [("nowhere", "transient"), ("gpt", "ok")]
    assert status == 200 and "cost_usd" not in attempts[0] and estimated is False
    assert cost == Decimal(attempts[1]["cost_usd"]) > 0


async def test_an_error_status_from_the_provider_is_free(gateway: Gateway) -> None:
    key = await budgeted(gateway)
    gateway.openai.script(faults.rate_limited())
    response = await send(gateway, key)
    assert response.status_code == 200
    _, cost, _, attempts = await logged_and_charged(gateway)
    assert (attempts[0]["outcome"], attempts[0].get("cost_usd")) == ("rate_limited", None)
    assert cost == Decimal(attempts[1]["cost_usd"])


EMBEDDER = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: embedder}
spec: {scopes: [embeddings], monthlyBudgetUSD: 5}
"""


@pytest.mark.parametrize(
    ("fault", "charged"), [(faults.drop(), True), (faults.rate_limited(), False)], ids=["cut after sending", "429"]
)
async def test_an_embeddings_attempt_that_reached_the_provider_is_charged_by_estimate(
    gateway: Gateway, fault: faults.Fault, charged: bool
) -> None:
    await gateway.until_revision(await gateway.apply(EMBEDDER))
    key = await gateway.issue_key("embedder")
    gateway.openai.script(fault)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.post(
            "/v1/embeddings", json={"model": "embed", "input": TEXT}, headers={"authorization": f"Bearer {key}"}
        )
    status, cost, estimated, attempts = await logged_and_charged(gateway)
    assert response.status_code == status == (502 if charged else 429), response.text
    assert [a["model"] for a in attempts] == ["embed"]
    if charged:
        assert Decimal(attempts[0]["cost_usd"]) == cost == Decimal("0.00002") * tokens.estimate_input([TEXT]) / 1000
        assert estimated is True and cost > 0
    else:
        assert "cost_usd" not in attempts[0] and cost == 0
