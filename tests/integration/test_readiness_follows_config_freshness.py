"""A replica whose config cannot be refreshed for longer than the stale limit reports not ready, saying why,
and ready again once a refresh succeeds: traffic moves to replicas that are known to be up to date."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from gateway import settings as settings_mod
from gateway.config import snapshot
from gateway.serving import supervisor
from tests.plugins.gateway import Gateway
from tests.plugins.pg import Outage

STALE_S = 1.5
ALIAS_MODEL = """
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: gpt-alias}
spec: {providerRef: openai, upstreamModel: gpt-4o-mini, pricing: {inputPer1K: 0.001, outputPer1K: 0.002}}
"""


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings) -> settings_mod.Settings:
    return dataclasses.replace(gateway_settings, config_stale_s=STALE_S)


@pytest.fixture
def gateway_supervision() -> supervisor.Supervision:
    return supervisor.Supervision(supervisor.Backoff(initial_s=0.1, max_s=0.2))


async def readiness_becomes(gateway: Gateway, status: int, timeout_s: float = 15.0) -> dict[str, Any]:
    """The body of ``/readyz`` once it answers ``status`` (polled; fails after ``timeout_s``)."""
    async with httpx.AsyncClient() as client, asyncio.timeout(timeout_s):
        while True:
            reply = await client.get(f"{gateway.url}/readyz")
            if reply.status_code == status:
                body: dict[str, Any] = reply.json()
                return body
            await asyncio.sleep(0.05)


async def test_readiness_is_false_while_postgres_is_away_and_true_once_it_is_back(
    gateway: Gateway, outage: Outage
) -> None:
    revision = (await readiness_becomes(gateway, 200))["config_revision"]
    await outage.switch(True)
    down = await readiness_becomes(gateway, 503)
    assert "configuration may be stale" in down["reason"]
    assert "the config listener cannot reach Postgres" in down["reason"]
    assert down["config_revision"] == revision and down["config_age_seconds"] > STALE_S
    assert await gateway.metric("tokenhub_ready") == 0.0
    age = await gateway.metric("tokenhub_config_age_seconds")
    assert age is not None and age > STALE_S

    await outage.switch(False)
    up = await readiness_becomes(gateway, 200)
    assert "reason" not in up and up["config_age_seconds"] < STALE_S
    assert await gateway.metric("tokenhub_ready") == 1.0


async def test_a_reload_that_keeps_failing_makes_the_replica_unready_with_its_error_until_it_succeeds(
    gateway: Gateway,
) -> None:
    served = gateway.runtime.config.current
    assert served is not None
    broken = True

    def fails_while_broken(snap: snapshot.ConfigSnapshot) -> None:
        if broken and snap.revision > served.revision:
            raise RuntimeError("injected: this revision cannot be compiled")

    gateway.runtime.config.subscribe(fails_while_broken)
    revision = await gateway.apply(ALIAS_MODEL)
    down = await readiness_becomes(gateway, 503)
    assert "the last reload failed: RuntimeError: injected" in down["reason"]
    assert down["config_revision"] == served.revision  # the previous snapshot keeps serving
    failures = await gateway.metric("tokenhub_background_task_failures_total", task="config-listener")
    assert failures is not None and failures >= 1

    broken = False
    up = await readiness_becomes(gateway, 200)
    assert up["config_revision"] == revision
