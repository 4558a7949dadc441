"""POST /v1/chat: routing hints and @@tokenhub directives choose the model; the answer explains the choice."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.plugins.gateway import ADMIN_TOKEN, Gateway


async def native(gateway: Gateway, payload: dict[str, object], key: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        return await http.post("/v1/chat", json=payload, headers={"Authorization": f"Bearer {key or gateway.key}"})


async def test_cheap_mode_picks_the_cheapest_capable_model_and_explains_it(gateway: Gateway) -> None:
    response = await native(
        gateway, {"request": {"messages": [{"role": "user", "content": "hi"}]}, "policy": {"mode": "cheap"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["negotiated_model"] == "llama"  # the cheapest chat model of the test config
    assert body["response"]["choices"][0]["message"]["content"] == "echo: hi"
    assert "mode=cheap" in body["decision"] and "model=llama" in body["decision"]
    assert response.headers["x-tokenhub-decision"] == body["decision"]
    assert Decimal(str(body["cost_usd"])) > 0


async def test_a_directive_overrides_the_policy_and_is_stripped_before_the_upstream(gateway: Gateway) -> None:
    payload = {
        "request": {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "@@tokenhub model=claude\nhello there"},
            ]
        },
        "policy": {"mode": "cheap"},
    }
    response = await native(gateway, payload)
    assert response.status_code == 200, response.text
    assert response.json()["negotiated_model"] == "claude"
    sent = gateway.anthropic.requests[-1].json
    assert sent is not None
    assert "@@tokenhub" not in str(sent["messages"]) and "hello there" in str(sent["messages"])


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"request": {"messages": [{"role": "user", "content": "@@tokenhub mode=fastest\nhi"}]}}, "@@tokenhub mode"),
        ({"request": {"messages": []}}, "request.messages"),
        (
            {"request": {"messages": [{"role": "user", "content": "x"}]}, "policy": {"min_weight": 11}},
            "policy.min_weight",
        ),
        ({"request": {"messages": [{"role": "user", "content": "x"}]}, "policy": {"mode": "fast"}}, "policy.mode"),
        ({"messages": [{"role": "user", "content": "x"}]}, "request"),
    ],
)
async def test_bad_hints_and_directives_are_400s_naming_the_field(
    gateway: Gateway, payload: dict[str, object], param: str
) -> None:
    response = await native(gateway, payload)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


async def test_simulate_ranks_every_model_with_terms_and_rejections_without_calling_providers(
    gateway: Gateway,
) -> None:
    before = [len(gateway.openai.requests), len(gateway.anthropic.requests)]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        refused = await http.post("/admin/v1/routing/simulate", json={})
        assert refused.status_code == 401
        response = await http.post(
            "/admin/v1/routing/simulate",
            json={"mode": "cheap", "capabilities": ["chat", "tools"], "input_tokens": 1000},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["model"] for c in body["ranked"]] == ["gpt", "claude"]  # gpt is cheaper; llama lacks tools
    assert set(body["ranked"][0]["terms"]) == {"cost", "latency", "failure", "weight"}
    assert {(r["model"], r["reason"]) for r in body["rejected"]} >= {("llama", "capability_missing")}
    assert [len(gateway.openai.requests), len(gateway.anthropic.requests)] == before


PLANNING: dict[str, object] = {
    "request": {"messages": [{"role": "user", "content": "plan a trip"}]},
    "policy": {"mode": "planning"},
}


async def test_the_planning_mode_needs_the_plan_scope(gateway: Gateway) -> None:
    refused = await native(gateway, PLANNING)
    assert refused.status_code == 403
    assert "this API key lacks the 'plan' scope" in refused.text
    directive: dict[str, object] = {
        "request": {"messages": [{"role": "user", "content": "@@tokenhub mode=planning\nplan a trip"}]}
    }
    assert (await native(gateway, directive)).status_code == 403, "a directive is the same request"

    await gateway.apply(
        "apiVersion: tokenhub.io/v1alpha1\nkind: ApiKey\nmetadata: {name: planner}\nspec: {scopes: [chat, plan]}\n"
    )
    planner = await gateway.issue_key("planner")
    allowed = await native(gateway, PLANNING, key=planner)
    assert allowed.status_code == 200, allowed.text
    assert "mode=planning" in allowed.json()["decision"]
    assert (await native(gateway, {**PLANNING, "policy": {"mode": "cheap"}})).status_code == 200
