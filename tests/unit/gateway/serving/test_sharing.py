"""The pure side of sharing: clock conversion, combining other replicas' health, adopting probes, merging arms."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import health, thompson
from gateway.serving import sharing

S = health.HealthSettings()
H = 30.0
NOW = 10_000.0
times = st.floats(0.0, 1e6)
# time.time() - time.monotonic(): Unix seconds of some boot time, so a wall-clock deadline is never 0 (0 = none)
offsets = st.floats(1e9, 4e9)
rates = st.floats(0.0, 1.0)
latencies = st.floats(1.0, 1e5)


def remote(**fields: object) -> sharing.Remote:
    return sharing.Remote(**fields)  # type: ignore[arg-type]  # test convenience: fields by keyword


@given(t=times, offset=offsets)
def test_a_time_survives_the_trip_through_the_wall_clock(t: float, offset: float) -> None:
    assert math.isclose(sharing.to_mono(sharing.to_wall(t, offset), offset), t, abs_tol=1e-6)


@given(
    retry=times,
    down=times,
    trips=st.integers(0, 20),
    error_rate=rates,
    latency=st.none() | latencies,
    seen=st.none() | times,
    state=st.sampled_from(health.State),
    sender=offsets,
    receiver=offsets,
)
def test_published_health_reads_back_in_the_receivers_clock(
    retry: float,
    down: float,
    trips: int,
    error_rate: float,
    latency: float | None,
    seen: float | None,
    state: health.State,
    sender: float,
    receiver: float,
) -> None:
    """Deadlines move by the difference of the two processes' clock offsets; a closed circuit sends no deadline."""
    own = health.ProviderHealth(
        state=state, retry_after_until=retry, down_until=down, trips=trips, error_rate=error_rate, latency_ms=latency
    )
    got = sharing.remote(sharing.published(sharing.Own("ns/p", own, seen), sender), receiver)
    shift = sender - receiver
    if retry:
        assert math.isclose(got.retry_after_until, retry + shift, abs_tol=1e-3)
    if state is health.State.DOWN and down:
        assert math.isclose(got.down_until, down + shift, abs_tol=1e-3)
    else:
        assert got.down_until == 0.0
    assert (got.trips, got.error_rate, got.latency_ms) == (trips, error_rate, latency)
    assert (got.observed_at is None) == (seen is None)


def test_a_probe_result_reads_back_whole() -> None:
    probe = health.Probe(False, 120.0, 500.0, 3, 440.0)
    own = health.ProviderHealth(probe=probe)
    got = sharing.remote(sharing.published(sharing.Own("ns/p", own, None), 1000.0), 1000.0)
    assert got.probe == probe


@given(own=times, others=st.lists(times, min_size=1, max_size=5))
def test_the_latest_retry_after_anywhere_keeps_every_replica_away(own: float, others: list[float]) -> None:
    view = sharing.combine(
        health.ProviderHealth(retry_after_until=own), None, [remote(retry_after_until=t) for t in others], NOW, H
    )
    assert view.retry_after_until == max(own, *others)


def test_another_replicas_open_circuit_blocks_until_its_deadline_then_reads_half_open() -> None:
    view = sharing.combine(health.UNKNOWN, None, [remote(down_until=NOW + 30, trips=2)], NOW, H)
    assert not health.available(view, NOW + 29)
    assert health.state_at(view, NOW + 31) is health.State.HALF_OPEN
    assert health.available(view, NOW + 31)


def test_an_expired_remote_circuit_changes_nothing() -> None:
    own = health.ProviderHealth(error_rate=0.0)
    assert sharing.combine(own, None, [remote(down_until=NOW - 1)], NOW, H).state is health.State.HEALTHY


def test_a_later_local_circuit_is_not_shortened_by_an_earlier_remote_one() -> None:
    own = health.ProviderHealth(state=health.State.DOWN, down_until=NOW + 60, trips=3)
    view = sharing.combine(own, None, [remote(down_until=NOW + 10, trips=1)], NOW, H)
    assert (view.down_until, view.trips) == (NOW + 60, 3)


@given(
    own_rate=rates,
    own_latency=latencies,
    others=st.lists(st.tuples(rates, latencies, st.floats(0.0, 600.0)), min_size=1, max_size=5),
)
def test_pooled_error_rate_and_latency_lie_between_the_replicas_estimates(
    own_rate: float, own_latency: float, others: list[tuple[float, float, float]]
) -> None:
    own = health.ProviderHealth(error_rate=own_rate, latency_ms=own_latency)
    sources = [remote(error_rate=e, latency_ms=x, observed_at=NOW - age) for e, x, age in others]
    view = sharing.combine(own, NOW, sources, NOW, H)
    rates_seen = [own_rate, *(e for e, _, _ in others)]
    latencies_seen = [own_latency, *(x for _, x, _ in others)]
    assert min(rates_seen) - 1e-9 <= view.error_rate <= max(rates_seen) + 1e-9
    assert view.latency_ms is not None
    assert min(latencies_seen) * (1 - 1e-9) <= view.latency_ms <= max(latencies_seen) * (1 + 1e-9)


def test_a_replica_that_stopped_sending_stops_counting() -> None:
    own = health.ProviderHealth(error_rate=0.0, latency_ms=100.0)
    fresh = sharing.combine(own, NOW, [remote(error_rate=0.8, latency_ms=900.0, observed_at=NOW)], NOW, H)
    stale = sharing.combine(own, NOW, [remote(error_rate=0.8, latency_ms=900.0, observed_at=NOW - 20 * H)], NOW, H)
    assert fresh.error_rate == 0.4 and fresh.latency_ms == 500.0
    assert stale.error_rate < 0.001 and stale.latency_ms is not None and stale.latency_ms < 101.0


def test_a_replica_without_traffic_takes_the_fleets_estimates() -> None:
    view = sharing.combine(health.UNKNOWN, None, [remote(error_rate=0.3, latency_ms=250.0, observed_at=NOW)], NOW, H)
    assert (view.error_rate, view.latency_ms) == (0.3, 250.0)


def test_a_failure_in_another_replicas_half_open_window_reopens_the_circuit_with_a_doubled_cooldown() -> None:
    view = health.ProviderHealth(state=health.State.DOWN, down_until=NOW - 1, trips=1)
    own = sharing.adopt_circuit(health.UNKNOWN, view)
    after = health.on_failure(own, NOW, S)
    assert after.state is health.State.DOWN
    assert after.down_until == NOW + 2 * S.cooldown_s


def test_an_open_circuit_is_not_adopted_over_a_later_own_one() -> None:
    own = health.ProviderHealth(state=health.State.DOWN, down_until=NOW + 90, trips=2)
    view = health.ProviderHealth(state=health.State.DOWN, down_until=NOW + 30, trips=1)
    assert sharing.adopt_circuit(own, view) is own


@given(outcomes=st.lists(st.booleans(), min_size=1, max_size=12), traffic=st.booleans())
def test_a_replica_adopting_every_probe_ends_where_the_prober_does(outcomes: list[bool], traffic: bool) -> None:
    """Probe results read from the prober's row move a replica's circuit exactly as probing itself would."""
    start = health.ProviderHealth(last_success_at=0.0) if traffic else health.UNKNOWN
    prober, follower = start, start
    for i, ok in enumerate(outcomes):
        at = NOW + 10.0 * i
        prober = health.on_probe(prober, ok, 50.0 if ok else None, at, S)
        assert prober.probe is not None
        follower = sharing.adopt_probe(follower, prober.probe, S)
        assert follower == prober


def test_a_probe_older_than_an_open_circuit_does_not_end_it() -> None:
    own = health.ProviderHealth(state=health.State.DOWN, down_until=NOW + 30, changed_at=NOW)
    probe = health.Probe(True, 40.0, NOW - 5)
    adopted = sharing.adopt_probe(own, probe, S)
    assert adopted.down_until == NOW + 30 and adopted.probe == probe


def test_a_successful_probe_ends_another_replicas_cooldown_early() -> None:
    own = health.ProviderHealth(state=health.State.DOWN, down_until=NOW + 30, changed_at=NOW)
    adopted = sharing.adopt_probe(own, health.Probe(True, 40.0, NOW + 5), S)
    assert health.available(adopted, NOW + 5)


def test_a_probe_already_seen_is_not_applied_twice() -> None:
    probe = health.Probe(False, None, NOW, 3, NOW - 20)
    own = health.ProviderHealth(probe=probe)
    assert sharing.adopt_probe(own, probe, S) is own


arms = st.builds(thompson.ArmStats, st.floats(0.0, 1e4), st.floats(0.0, 1e4), times)


@given(a=arms, b=arms, half_life=st.floats(1.0, 1e5))
def test_an_arm_seen_by_two_replicas_is_their_thompson_merge(
    a: thompson.ArmStats, b: thompson.ArmStats, half_life: float
) -> None:
    arm = ("ns", "gpt", thompson.Bucket.SMALL)
    got = sharing.combine_arm(sharing.OwnArm(arm, a, half_life), sharing.OwnArm(arm, b, half_life))
    assert got == thompson.merge(a, b, 0.0, half_life)


@given(a=arms, half_life=st.floats(1.0, 1e5), offset=offsets)
def test_an_arm_reads_back_in_the_same_clock(a: thompson.ArmStats, half_life: float, offset: float) -> None:
    own = sharing.OwnArm(("ns", "gpt", thompson.Bucket.LARGE), a, half_life)
    back = sharing.arm_in(sharing.arm_row(own, offset), offset)
    assert back is not None
    assert back.arm == own.arm and back.half_life_s == half_life
    assert (back.stats.alpha, back.stats.beta) == (a.alpha, a.beta)
    assert math.isclose(back.stats.at, a.at, abs_tol=1e-6)


def test_an_arm_in_a_bucket_this_version_does_not_know_is_skipped() -> None:
    own = sharing.OwnArm(("ns", "gpt", thompson.Bucket.SMALL), thompson.ArmStats(1, 1, 1), H)
    assert sharing.arm_in(replace(sharing.arm_row(own, 0.0), bucket="huge"), 0.0) is None
