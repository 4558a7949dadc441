"""A background loop that dies of an unexpected exception is logged, counted and restarted; its duty resumes.

The fault is real and goes through a seam the gateway owns: a config subscriber (the kind of derived state whose
compile error once killed the listener for good) raises on the first revision it sees.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from gateway.config import snapshot
from tests.plugins.gateway import Gateway

ALIAS_MODEL = """
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: gpt-alias}
spec:
  providerRef: openai
  upstreamModel: gpt-4o-mini
  contextWindow: 128000
  pricing: {inputPer1K: 0.00015, outputPer1K: 0.0006}
  capabilities: [chat]
"""


async def test_a_config_listener_killed_by_an_exception_restarts_is_counted_and_follows_config_again(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = gateway.runtime
    served = runtime.config.current
    assert served is not None
    broken_on: list[int] = []

    def breaks_once(snap: snapshot.ConfigSnapshot) -> None:
        if not broken_on:
            broken_on.append(snap.revision)
            raise RuntimeError("injected: derived state cannot be built")

    runtime.config.subscribe(breaks_once)
    with caplog.at_level(logging.ERROR, logger="gateway.serving.supervisor"):
        revision = await gateway.apply(ALIAS_MODEL)
        await gateway.until_revision(revision, timeout_s=10)

    assert broken_on == [revision]
    assert await gateway.metric("tokenhub_background_task_failures_total", task="config-listener") == 1.0
    assert await gateway.metric("tokenhub_config_reloads_total", result="error") == 1.0
    failures = [r for r in caplog.records if "background task config-listener failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "injected" in str(failures[0].exc_info[1])
    # The revision that failed was not half-applied, then applied whole: the new model is routable.
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            f"{gateway.base_url}/chat/completions",
            json={"model": "gpt-alias", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": f"Bearer {gateway.key}"},
        )
        ready = await client.get(f"{gateway.url}/readyz")
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-tokenhub-model"] == "gpt-alias"
    assert ready.status_code == 200 and ready.json()["config_revision"] == revision


async def test_loops_that_never_failed_report_no_failure(gateway: Gateway) -> None:
    loops = gateway.runtime.supervisor.loops
    assert {"config-listener", "log-writer", "lease-refill", "lease-upkeep", "stats-sharing"} <= set(loops)
    assert all(handle.running and handle.failures == 0 for handle in loops.values())
    assert await gateway.metric("tokenhub_background_task_failures_total", task="config-listener") == 0  # from start
