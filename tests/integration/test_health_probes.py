"""Active probes use each provider's cheap model list, on its own interval, and feed the health book."""

from __future__ import annotations

import time

from gateway.routing import health
from tests.fakes import faults
from tests.plugins.gateway import Gateway


async def test_probes_hit_the_model_list_once_per_interval_and_record_success(gateway: Gateway) -> None:
    prober = gateway.runtime.prober
    assert await prober.probe_once() == 3  # openai, anthropic, vllm
    assert await prober.probe_once() == 0  # not due again before healthCheck.intervalSeconds
    probe = gateway.openai.requests[-1]
    assert (probe.method, probe.path) == ("GET", "/v1/models")
    assert gateway.anthropic.requests[-1].path == "/v1/models"
    book = gateway.runtime.routing.health
    assert book["default/openai"].probe is not None and book["default/openai"].probe.ok


async def test_an_idle_provider_failing_probes_goes_down_and_is_routed_around(gateway: Gateway) -> None:
    prober = gateway.runtime.prober
    snap = gateway.runtime.config.current
    assert snap is not None
    openai = next(p for ref, p in snap.providers.items() if ref.name == "openai")
    gateway.openai.script(*[faults.server_error(503)] * 3)
    for _ in range(3):
        await prober._probe(openai)
    entry = gateway.runtime.routing.health["default/openai"]
    assert health.state_at(entry, time.monotonic()) is health.State.DOWN
    assert gateway.runtime.routing.cooldown_remaining(openai.ref) > 0
