"""Traffic that makes every metric family of the dashboards and alerts appear, and how to find those families.

``prepare`` adds three ApiKeys (a budget, a budget too small for any request, one request per minute); ``drive``
sends what a busy fleet sees: plain and streamed chats on two APIs, a failover, a request every provider fails, an
embedding, an idempotent retry, refusals for budget and rate limit. ``families`` reads the metric names and label
names the generated dashboards and rules use (``uses``), from the files the chart ships.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

import httpx
import yaml

from tests.fakes import faults
from tests.plugins.gateway import Gateway

ROOT = pathlib.Path(__file__).parents[2]
FILES = ROOT / "charts" / "tokenhub" / "files"
KEYS = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: budgeted}
spec: {scopes: [chat], monthlyBudgetUSD: 10}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: pauper}
spec: {scopes: [chat], monthlyBudgetUSD: 0.000001}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: throttled}
spec: {scopes: [chat], rateLimit: {rpm: 1}}
"""
HELLO = [{"role": "user", "content": "hello"}]
# Labels Prometheus adds at scrape time, and the bucket bound of histograms.
SCRAPE_LABELS = frozenset({"instance", "job", "le"})
_METRIC = re.compile(r"\b((?:tokenhub|gen_ai)_[a-z_]+)\b")
_BY = re.compile(r"\bby \(([^)]*)\)")
_MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"")


@dataclasses.dataclass(frozen=True)
class Keys:
    budgeted: str
    pauper: str
    throttled: str


async def prepare(gateway: Gateway, *others: Gateway) -> Keys:
    revision = await gateway.apply(KEYS)
    for other in (gateway, *others):
        await other.until_revision(revision)
    issued = [await gateway.issue_key(name) for name in ("budgeted", "pauper", "throttled")]
    for other in others:
        await other.catch_up()
    return Keys(*issued)


async def chat(client: httpx.AsyncClient, url: str, key: str, model: str = "gpt", **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": HELLO, "max_tokens": 16, **extra}
    return await client.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})


async def stream(client: httpx.AsyncClient, url: str, key: str, model: str) -> None:
    body = {"model": model, "messages": HELLO, "max_tokens": 16, "stream": True}
    headers = {"Authorization": f"Bearer {key}"}
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        await response.aread()


async def steady(client: httpx.AsyncClient, gateway: Gateway, keys: Keys) -> None:
    """One round of ordinary traffic: plain and streamed chats on both providers, a budgeted key's request."""
    for model in ("gpt", "claude"):
        assert (await chat(client, gateway.url, gateway.key, model)).status_code == 200
        await stream(client, gateway.url, gateway.key, model)
    assert (await chat(client, gateway.url, keys.budgeted)).status_code == 200


async def drive(client: httpx.AsyncClient, gateway: Gateway, keys: Keys) -> None:
    """The special cases, once: failover, total failure, embeddings, idempotency, refusals."""
    await steady(client, gateway, keys)
    gateway.openai.script(faults.server_error(500), faults.server_error(500))
    failed_over = await chat(client, gateway.url, gateway.key)
    assert failed_over.headers["x-tokenhub-provider"] == "anthropic", failed_over.text
    gateway.openai.script(*[faults.server_error(500)] * 2)
    gateway.anthropic.script(*[faults.server_error(500)] * 2)
    assert (await chat(client, gateway.url, gateway.key)).status_code == 502
    embedded = await client.post(
        f"{gateway.url}/v1/embeddings",
        json={"model": "embed", "input": "hello"},
        headers={"Authorization": f"Bearer {gateway.key}"},
    )
    assert embedded.status_code == 200, embedded.text
    headers = {"Authorization": f"Bearer {gateway.key}", "Idempotency-Key": "observability-1"}
    body = {"model": "gpt", "messages": HELLO}
    for _ in range(2):
        answered = await client.post(f"{gateway.url}/v1/chat/completions", json=body, headers=headers)
        assert answered.status_code == 200, answered.text
    assert answered.headers.get("idempotent-replayed") == "true"
    refused = await chat(client, gateway.url, keys.pauper)
    assert refused.status_code == 429 and "budget" in refused.text, refused.text
    throttled = [await chat(client, gateway.url, keys.throttled) for _ in range(2)]  # rpm 1 across the fleet
    assert throttled[-1].status_code == 429 and "requests per minute" in throttled[-1].text, throttled[-1].text


def expressions() -> list[str]:
    """Every PromQL expression of the shipped dashboards and rules."""
    found: list[str] = []
    for path in sorted((FILES / "dashboards").glob("*.json")):
        found.extend(panel_queries(yaml.safe_load(path.read_text())))
    for group in yaml.safe_load((FILES / "prometheus-rules.yaml").read_text())["groups"]:
        found.extend(rule["expr"] for rule in group["rules"])
    return found


def panel_queries(board: dict[str, Any]) -> list[str]:
    exprs: list[str] = []
    for panel in board["panels"]:
        for nested in [panel, *panel.get("panels", ())]:
            exprs.extend(t["expr"] for t in nested.get("targets", ()))
    return exprs


def uses(expr: str) -> tuple[set[str], set[str]]:
    """The sample names an expression reads and the label names it groups or matches by (scrape labels aside)."""
    used = {label.strip() for group in _BY.findall(expr) for label in group.split(",") if label.strip()}
    used |= set(_MATCHER.findall(expr))
    return set(_METRIC.findall(expr)) - used, used - SCRAPE_LABELS  # gen_ai_* labels look like names
