"""The scrape-time collector: one reading becomes metric families with bounded, documented labels."""

from __future__ import annotations

import prometheus_client as prom
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import parser

from gateway.observability import collectors


class Fixed:
    def __init__(self, reading: collectors.Reading) -> None:
        self.reading = reading
        self.reads = 0

    def read(self) -> collectors.Reading:
        self.reads += 1
        return self.reading


def scrape(reading: collectors.Reading) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = prom.CollectorRegistry(auto_describe=True)
    registry.register(collectors.StateCollector(Fixed(reading)))
    text = prom.generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parser.text_string_to_metric_families(text)
        for s in family.samples
    }


def test_registering_reads_nothing_and_each_scrape_reads_once() -> None:
    source = Fixed(collectors.Reading())
    registry = prom.CollectorRegistry(auto_describe=True)
    registry.register(collectors.StateCollector(source))
    assert source.reads == 0
    prom.generate_latest(registry)
    prom.generate_latest(registry)
    assert source.reads == 2


def test_budget_spend_and_limit_per_api_key() -> None:
    samples = scrape(
        collectors.Reading(
            budgets=[collectors.KeyBudget("team-a", "ci", 10.0, 8.5, 0.25, 0.05)],
            refusals=[collectors.KeyRefusals("team-a", "ci", "budget", 3)],
        )
    )
    key = (("api_key", "ci"), ("namespace", "team-a"))
    assert samples["tokenhub_budget_limit_usd", key] == 10.0
    assert samples["tokenhub_budget_spent_usd", key] == 8.5
    assert samples["tokenhub_lease_budget_usd", (*key, ("state", "free"))] == 0.25
    assert samples["tokenhub_key_refusals_total", (*key, ("reason", "budget"))] == 3


def test_a_key_without_a_known_spend_has_no_spend_sample() -> None:
    samples = scrape(collectors.Reading(budgets=[collectors.KeyBudget("ns", "k", 5.0, None, 0.0, 0.0)]))
    assert not any(name == "tokenhub_budget_spent_usd" for name, _ in samples)
    assert samples["tokenhub_budget_limit_usd", (("api_key", "k"), ("namespace", "ns"))] == 5.0


@given(st.sampled_from(collectors.HEALTH_STATES))
def test_one_health_state_is_set_and_the_circuit_is_open_until_a_success(state: str) -> None:
    samples = scrape(collectors.Reading(providers=[collectors.ProviderState("ns", "openai", state, 0.1, None)]))
    states = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "tokenhub_provider_health_state"
    }
    assert states == {s: (1.0 if s == state else 0.0) for s in collectors.HEALTH_STATES}
    circuit = samples["tokenhub_provider_circuit_open", (("namespace", "ns"), ("provider", "openai"))]
    assert circuit == (1.0 if state in ("down", "half_open") else 0.0)
    assert not any(name == "tokenhub_provider_latency_seconds" for name, _ in samples), "no latency seen yet"


def test_the_prober_gauge_is_absent_where_probes_are_off() -> None:
    assert not any(name == "tokenhub_health_prober_leading" for name, _ in scrape(collectors.Reading()))
    on = scrape(collectors.Reading(prober_leading=True))
    assert on["tokenhub_health_prober_leading", ()] == 1.0


def test_log_pipeline_and_database() -> None:
    samples = scrape(
        collectors.Reading(
            logs=collectors.LogPipeline(queued=7, spool_bytes=1024, dead_letter_bytes=12),
            database=collectors.Database(pool_open=3, pool_idle=2, pool_waiting=1, listener_connected=True),
        )
    )
    assert samples["tokenhub_request_log_queue", ()] == 7
    assert samples["tokenhub_request_log_spool_bytes", ()] == 1024
    assert samples["tokenhub_request_log_dead_letter_bytes", ()] == 12
    assert samples["tokenhub_db_pool_connections", (("state", "idle"),)] == 2
    assert samples["tokenhub_db_listener_connected", ()] == 1.0
