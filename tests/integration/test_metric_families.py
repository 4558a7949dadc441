"""Every metric the shipped dashboards and alert rules read exists, with the labels they use, after real traffic.

The expressions come from charts/tokenhub/files (generated), so a panel or rule naming a family or label the
gateway does not expose fails here, before any Prometheus is involved.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client import parser

from gateway import settings as settings_mod
from tests.integration import observability_traffic as traffic
from tests.plugins.gateway import Gateway


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings) -> settings_mod.Settings:
    """Health probes on: the active prober's gauge is one of the families."""
    return dataclasses.replace(gateway_settings, health_probes=True)


async def exposed(url: str) -> dict[str, set[str]]:
    """Sample name -> the label names seen on its samples, as /metrics shows them now."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    found: dict[str, set[str]] = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


async def test_every_family_the_dashboards_and_alerts_use_is_exposed_with_its_labels(gateway: Gateway) -> None:
    keys = await traffic.prepare(gateway)
    async with httpx.AsyncClient(timeout=10) as client:
        await traffic.drive(client, gateway, keys)
    await gateway.flush_logs()
    samples = await exposed(gateway.url)
    exprs = traffic.expressions()
    assert len(exprs) > 60
    missing: list[str] = []
    for expr in exprs:
        names, labels = traffic.uses(expr)
        assert names or expr.startswith("tokenhub:"), expr
        missing += [f"{name} (in {expr})" for name in sorted(names) if name not in samples]
        present = set().union(*(samples.get(name, set()) for name in names)) if names else labels
        missing += [f"label {label} of {sorted(names)} (in {expr})" for label in sorted(labels - present)]
    assert missing == []


async def test_model_labels_are_configured_model_names_never_what_clients_sent(gateway: Gateway) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await traffic.chat(client, gateway.url, gateway.key, "gpt-4o-mini")).status_code == 200  # an alias
        unknown = await traffic.chat(client, gateway.url, gateway.key, "no-such-model-0c1f9a")
        assert unknown.status_code == 404
        text = (await client.get(f"{gateway.url}/metrics")).text
    models = {
        value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
        for name, value in sample.labels.items()
        if name in ("model", "gen_ai_request_model")
    }
    assert "gpt" in models
    assert models <= {"", "gpt", "claude", "llama", "embed"}, models
