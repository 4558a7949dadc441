"""Requests built to under-reserve, fired in parallel at three replicas on one Postgres, against an upstream that
bills each the most it may, never take a key's spend past its budget: every parameter that adds output or input
is priced into the reservation, or refused with a 400 naming it before anything is sent."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from typing import Any

import httpx
import orjson

from tests.fakes import maximal
from tests.plugins import replicas

BUDGET = Decimal("0.5")
INPUT_PER_1K, OUTPUT_PER_1K = Decimal("0.01"), Decimal("0.02")
LIMITS = maximal.Limits(context_window=16_000, max_output_tokens=4_000, media_tokens=1_000)
MANIFESTS = f"""\
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: biller}}
spec: {{type: openai-compatible, baseURL: "@URL@", timeoutSeconds: 10}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: dear}}
spec:
  providerRef: biller
  upstreamModel: dear
  contextWindow: {LIMITS.context_window}
  maxOutputTokens: {LIMITS.max_output_tokens}
  mediaInputTokens: {LIMITS.media_tokens}
  pricing: {{inputPer1K: {INPUT_PER_1K}, outputPer1K: {OUTPUT_PER_1K}}}
  capabilities: [chat, vision, tools]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {{name: capped}}
spec: {{scopes: [chat], monthlyBudgetUSD: {BUDGET}}}
"""
USER = {"role": "user", "content": "hello"}
IMAGES = [{"type": "image_url", "image_url": {"url": f"h://{i}"}} for i in range(12)]
# (path, body, the parameter a 400 names or None when it is served within the budget)
ATTACKS: list[tuple[str, dict[str, Any], str | None]] = [
    ("/v1/chat/completions", {"messages": [USER], "max_completion_tokens": 1, "max_tokens": 3000}, None),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": IMAGES}], "max_tokens": 16}, None),
    ("/v1/chat/completions", {"messages": [USER]}, None),  # no limit: the model's own
    ("/v1/chat/completions", {"messages": [USER], "best_of": 3, "max_tokens": 1000}, None),
    ("/v1/chat/completions", {"messages": [USER], "n": 64, "max_completion_tokens": 1}, "n"),
    (
        "/v1/messages",
        {"messages": [USER], "max_tokens": 1, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        "tools[0]",
    ),
    ("/v1/chat", {"request": {"messages": [USER], "parameters": {"n": 64, "max_tokens": 1}}}, "request.parameters.n"),
]


async def attack(client: httpx.AsyncClient, url: str, key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    sent = body if path == "/v1/chat" else {"model": "dear", **body}
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    return await client.post(f"{url}{path}", content=orjson.dumps(sent), headers=headers)


def error_param(response: httpx.Response) -> str | None:
    """The field a 400 names: OpenAI's ``param``, or what Anthropic's message starts with."""
    error = response.json().get("error", {})
    if "param" in error:
        param: str | None = error["param"]
        return param
    return str(error.get("message", "")).split(":")[0]


async def test_fifty_parallel_requests_built_to_under_reserve_never_pass_the_budget(
    database_url: str, fleet: replicas.StartFleet
) -> None:
    async with maximal.MaximalUpstream(LIMITS) as upstream:
        hub = await fleet(database_url, MANIFESTS.replace("@URL@", upstream.url))
        key = hub.key("capped")
        plan = list(itertools.islice(itertools.cycle(ATTACKS), 50))
        async with httpx.AsyncClient(timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    attack(client, hub.gateways[n % len(hub.gateways)].url, key, path, body)
                    for n, (path, body, _) in enumerate(plan)
                )
            )
        billed = list(upstream.billed)

    refusals = [(response, named) for response, (_, _, named) in zip(responses, plan, strict=True) if named]
    wrong = [(r.status_code, r.text) for r, named in refusals if r.status_code != 400 or error_param(r) != named]
    assert not wrong
    served = [r for r, (_, _, named) in zip(responses, plan, strict=True) if not named and r.status_code == 200]
    others = [r for r, (_, _, named) in zip(responses, plan, strict=True) if not named and r.status_code != 200]
    assert all(r.status_code == 429 and r.json()["error"]["code"] == "budget_exceeded" for r in others)
    assert len(served) >= 2 and len(billed) == len(served)  # refused requests never reached the upstream

    # The upstream billed its maximum every time; the key's spend is exactly that, and within the budget.
    cost_billed = sum((INPUT_PER_1K * p + OUTPUT_PER_1K * c) / 1000 for p, c in billed)
    rows = await hub.logged("capped", [replicas.Reply(200, r.headers["x-tokenhub-request-id"]) for r in served])
    assert sum(cost for entries in rows.values() for _, cost in entries) == cost_billed
    assert (await hub.usage("capped")).spent == cost_billed
    assert cost_billed <= BUDGET
