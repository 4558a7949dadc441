from __future__ import annotations

from gateway.routing import health
from gateway.routing.health import State

S = health.HealthSettings(down_after=3, degraded_after=2, cooldown_s=30.0)


def fail(h: health.ProviderHealth, now: float, n: int = 1) -> health.ProviderHealth:
    for _ in range(n):
        h = health.on_failure(h, now, S)
    return h


def test_consecutive_failures_degrade_then_take_the_provider_down() -> None:
    h = fail(health.ProviderHealth(), 0.0, 2)
    assert health.state_at(h, 0.0) is State.DEGRADED and health.available(h, 0.0)
    h = fail(h, 1.0)
    assert health.state_at(h, 1.0) is State.DOWN and not health.available(h, 1.0)


def test_down_after_cooldown_reads_half_open_and_a_success_closes_it() -> None:
    h = fail(health.ProviderHealth(), 0.0, 3)
    assert health.state_at(h, 31.0) is State.HALF_OPEN
    assert health.available(h, 31.0)
    h = health.on_success(h, 200.0, 31.0, S)
    assert h.state is State.HEALTHY and h.consecutive_failures == 0


def test_failure_while_half_open_reopens_with_a_doubled_cooldown() -> None:
    h = fail(health.ProviderHealth(), 0.0, 3)
    h = fail(h, 31.0)
    assert health.state_at(h, 31.0) is State.DOWN
    assert h.down_until == 31.0 + 60.0


def test_stragglers_failing_during_the_cooldown_do_not_extend_it() -> None:
    h = fail(health.ProviderHealth(), 0.0, 3)
    assert fail(h, 10.0, 4).down_until == h.down_until


def test_retry_after_keeps_traffic_away_even_when_healthy() -> None:
    h = health.on_failure(health.ProviderHealth(), 0.0, S, retry_after_s=20.0)
    assert not health.available(h, 19.0)
    assert health.available(h, 20.0)


def test_latency_and_error_rate_are_ewmas_of_traffic() -> None:
    h = health.on_success(health.ProviderHealth(), 100.0, 0.0, S)
    h = health.on_success(h, 200.0, 1.0, S)
    assert h.latency_ms == 100.0 * 0.8 + 200.0 * 0.2
    h = fail(h, 2.0)
    assert h.error_rate == 0.1


def test_probes_do_not_touch_traffic_statistics() -> None:
    h = health.on_success(health.ProviderHealth(), 100.0, 0.0, S)
    h = health.on_probe(h, True, 5.0, 1.0, S)
    h = health.on_probe(h, False, None, 2.0, S)
    assert h.latency_ms == 100.0 and h.error_rate == 0.0
    assert h.probe is not None and not h.probe.ok


def test_failing_probes_take_an_idle_provider_down_but_not_a_busy_one() -> None:
    idle = health.ProviderHealth()
    for t in (1.0, 2.0, 3.0):
        idle = health.on_probe(idle, False, None, t, S)
    assert health.state_at(idle, 3.0) is State.DOWN
    busy = health.ProviderHealth()
    for t in (1.0, 2.0, 3.0):
        busy = health.on_probe(busy, False, None, t, S)
        busy = health.on_success(busy, 100.0, t + 0.5, S)
    assert health.state_at(busy, 4.0) is State.HEALTHY


def test_a_good_probe_ends_the_cooldown_early() -> None:
    h = fail(health.ProviderHealth(), 0.0, 3)
    h = health.on_probe(h, True, 10.0, 5.0, S)
    assert health.state_at(h, 5.0) is State.HALF_OPEN and health.available(h, 5.0)
