from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.routing import eligibility, errors, health, modes, table
from tests.unit.gateway.routing.factories import CHEAP, model, names, route


def test_cheap_mode_picks_the_cheaper_of_two_equal_models() -> None:
    t = table.compile_table([model("dear", price=0.01), model("cheap", price=0.001)])
    d = route(t, mode=CHEAP, input_tokens=1000)
    assert names(d) == ["cheap", "dear"]
    assert d.reason == "best-score"


def test_high_confidence_prefers_the_heavier_model_despite_its_price() -> None:
    t = table.compile_table([model("small", price=0.0005, weight=3), model("big", price=0.01, weight=9)])
    assert route(t, mode=modes.Mode.HIGH_CONFIDENCE, input_tokens=500).chosen.name == "big"  # type: ignore[union-attr]
    assert route(t, mode=CHEAP, input_tokens=500).chosen.name == "small"  # type: ignore[union-attr]


def test_context_check_counts_the_requested_output_tokens() -> None:
    t = table.compile_table([model("short", window=8192), model("long", window=200_000)])
    d = route(t, input_tokens=8000, max_output_tokens=1000)
    assert names(d) == ["long"]
    [rejection] = d.rejections()
    assert rejection.model == "short"
    assert rejection.reason is eligibility.RejectReason.CONTEXT
    assert "9000 tokens" in rejection.message


def test_missing_capability_rejects_the_model_with_a_reason() -> None:
    t = table.compile_table([model("plain"), model("tooled", caps=frozenset({"chat", "tools"}))])
    d = route(t, capabilities=frozenset({"chat", "tools"}))
    assert names(d) == ["tooled"]
    assert [(r.model, r.reason) for r in d.rejections()] == [("plain", eligibility.RejectReason.CAPABILITY)]


def test_over_budget_models_are_never_chosen_without_degrade() -> None:
    t = table.compile_table([model("dear", price=1.0)], [table.RoutingPolicy(max_budget_usd=0.01)])
    d = route(t, input_tokens=1000)
    assert d.chosen is None
    assert d.reason == "no-eligible-model"
    assert d.rejections()[0].reason is eligibility.RejectReason.OVER_BUDGET


def test_degrade_allowed_offers_over_budget_models_last_and_marks_them() -> None:
    policy = table.RoutingPolicy(max_budget_usd=0.01, allow_degrade=True, min_weight=5)
    t = table.compile_table([model("dear", price=1.0, weight=9), model("weak", price=0.0001, weight=2)], [policy])
    d = route(t, input_tokens=1000)
    assert d.degraded and d.reason == "degraded"
    assert all(c.degraded for c in d.candidates())
    assert "degraded=1" in d.header()


def test_compliant_candidates_rank_before_degraded_ones() -> None:
    policy = table.RoutingPolicy(max_budget_usd=0.01, allow_degrade=True)
    t = table.compile_table([model("dear", price=1.0, weight=10), model("fine", price=0.001, weight=1)], [policy])
    d = route(t, input_tokens=1000, mode=modes.Mode.HIGH_CONFIDENCE)
    assert names(d) == ["fine", "dear"]
    assert not d.degraded
    assert [c.degraded for c in d.candidates()] == [False, True]


def test_request_overrides_only_tighten_the_policy() -> None:
    policy = table.RoutingPolicy(max_budget_usd=0.01, min_weight=3)
    t = table.compile_table([model("a", price=0.005, weight=4), model("b", price=0.0001, weight=2)], [policy])
    loosened = route(t, input_tokens=1000, max_budget_usd=50.0, min_weight=0)
    assert names(loosened) == ["a"]
    tightened = route(t, input_tokens=1000, max_budget_usd=0.001)
    assert names(tightened) == []


def test_provider_in_cooldown_is_skipped_until_it_reads_half_open() -> None:
    t = table.compile_table([model("a", provider="p1", price=0.0001), model("b", provider="p2", price=0.01)])
    down = health.ProviderHealth(state=health.State.DOWN, down_until=1030.0)
    assert names(route(t, health_view={"p1": down}, now=1000.0, mode=CHEAP)) == ["b"]
    assert names(route(t, health_view={"p1": down}, now=1031.0, mode=CHEAP)) == ["a", "b"]


def test_allowed_models_of_the_key_restrict_the_candidates() -> None:
    t = table.compile_table([model("a"), model("b"), model("c")])
    d = route(t, allowed_models=frozenset({"b"}))
    assert names(d) == ["b"]
    assert {r.model for r in d.rejections()} == {"a", "c"}


def test_disabled_models_are_reported_and_never_ranked() -> None:
    t = table.compile_table([model("off", enabled=False), model("on")])
    d = route(t)
    assert names(d) == ["on"]
    assert d.rejections()[0].reason is eligibility.RejectReason.DISABLED


def test_explicit_model_keeps_its_fallback_chain_order() -> None:
    policy = table.RoutingPolicy(fallbacks={"gpt": ("claude", "llama")})
    t = table.compile_table([model("gpt", price=0.01), model("claude"), model("llama", price=0.0001)], [policy])
    d = route(t, model="gpt", mode=CHEAP)
    assert names(d) == ["gpt", "claude", "llama"]
    assert d.reason == "explicit-model"


def test_model_alias_resolves_to_its_model() -> None:
    t = table.compile_table([model("gpt-4o-2024", aliases=("gpt-4o",)), model("other")])
    assert names(route(t, model="gpt-4o")) == ["gpt-4o-2024"]


def test_unknown_model_name_is_an_error_naming_it() -> None:
    t = table.compile_table([model("a")])
    with pytest.raises(errors.UnknownModel, match="nope"):
        route(t, model="nope")


def test_unknown_policy_is_an_error() -> None:
    t = table.compile_table([model("a")])
    with pytest.raises(errors.UnknownPolicy):
        route(t, policy="missing")


def test_equal_scores_are_ordered_by_name() -> None:
    t = table.compile_table([model(n, provider="same") for n in ("zeta", "alpha", "mid")])
    assert names(route(t)) == ["alpha", "mid", "zeta"]


def test_slow_provider_is_rejected_over_the_latency_limit() -> None:
    t = table.compile_table([model("a", provider="slow"), model("b", provider="fast")])
    view = {"slow": health.ProviderHealth(latency_ms=9000.0), "fast": health.ProviderHealth(latency_ms=300.0)}
    d = route(t, health_view=view, max_latency_ms=2000)
    assert names(d) == ["b"]
    assert d.deadline_ms == 2000
    assert d.rejections()[0].reason is eligibility.RejectReason.TOO_SLOW


def test_failing_provider_scores_lower() -> None:
    t = table.compile_table([model("a", provider="flaky"), model("b", provider="solid")])
    view = {"flaky": health.ProviderHealth(error_rate=0.2)}
    assert route(t, health_view=view).chosen.name == "b"  # type: ignore[union-attr]


def test_per_policy_weights_override_the_defaults() -> None:
    only_weight = table.RoutingPolicy(weights={CHEAP: modes.ModeWeights(0, 0, 0, 1)})
    t = table.compile_table([model("cheap", price=0.0001, weight=1), model("good", price=0.1, weight=9)], [only_weight])
    assert route(t, mode=CHEAP).chosen.name == "good"  # type: ignore[union-attr]


prices = st.floats(min_value=1e-5, max_value=0.1, allow_nan=False)


@given(p1=prices, p2=prices, weight=st.integers(0, 10), tokens=st.integers(1, 100_000))
def test_cheap_never_prefers_the_pricier_model_all_else_equal(p1: float, p2: float, weight: int, tokens: int) -> None:
    assume(max(p1, p2) > min(p1, p2) * 1.001)
    t = table.compile_table(
        [model("x", provider="p", price=p1, weight=weight), model("y", provider="p", price=p2, weight=weight)]
    )
    chosen = route(t, mode=CHEAP, input_tokens=tokens).chosen
    assert chosen is not None
    assert chosen.name == ("x" if p1 < p2 else "y")


model_specs = st.lists(
    st.tuples(st.floats(0.0, 0.05), st.integers(0, 10), st.sampled_from(["p1", "p2", "p3"])),
    min_size=1,
    max_size=12,
)


def _table(specs: list[tuple[float, int, str]], policy: table.RoutingPolicy) -> table.RoutingTable:
    return table.compile_table(
        [model(f"m{i}", provider=prov, price=price, weight=w) for i, (price, w, prov) in enumerate(specs)], [policy]
    )


@given(
    specs=model_specs,
    budget=st.floats(1e-5, 1.0),
    min_weight=st.integers(0, 10),
    mode=st.sampled_from(list(modes.Mode)),
    tokens=st.integers(0, 50_000),
)
def test_nothing_over_budget_or_under_min_weight_is_ever_ranked(
    specs: list[tuple[float, int, str]], budget: float, min_weight: int, mode: modes.Mode, tokens: int
) -> None:
    t = _table(specs, table.RoutingPolicy(max_budget_usd=budget, min_weight=min_weight))
    d = route(t, mode=mode, input_tokens=tokens, max_output_tokens=256)
    for c in d.candidates():
        assert c.est_cost_usd <= budget
        assert t.models[t.index[c.name]].weight >= min_weight
    assert len(d.candidates()) + len(d.rejections()) == len(specs)


@given(specs=model_specs, seed=st.randoms(use_true_random=False), mode=st.sampled_from(list(modes.Mode)[:4]))
def test_ranking_does_not_depend_on_the_listing_order(
    specs: list[tuple[float, int, str]], seed: object, mode: modes.Mode
) -> None:
    ms = [model(f"m{i}", provider=prov, price=price, weight=w) for i, (price, w, prov) in enumerate(specs)]
    shuffled = list(ms)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    view = {
        "p2": health.ProviderHealth(latency_ms=800.0, error_rate=0.05),
        "p3": health.ProviderHealth(latency_ms=90.0),
    }
    a = route(table.compile_table(ms), health_view=view, mode=mode, input_tokens=700)
    b = route(table.compile_table(shuffled), health_view=view, mode=mode, input_tokens=700)
    assert names(a) == names(b)
    assert all(math.isclose(x.score, y.score) for x, y in zip(a.candidates(), b.candidates(), strict=True))


@given(specs=model_specs, mode=st.sampled_from(list(modes.Mode)[:4]))
def test_scores_lie_in_the_unit_interval_and_are_ranked_descending(
    specs: list[tuple[float, int, str]], mode: modes.Mode
) -> None:
    d = route(_table(specs, table.RoutingPolicy()), mode=mode, input_tokens=1234)
    scores = [c.score for c in d.candidates()]
    assert scores == sorted(scores, reverse=True)
    assert all(-1e-9 <= s <= 1 + 1e-9 for s in scores)


def test_thompson_mode_ranks_by_posterior_samples_from_the_bandit_view() -> None:
    import random as _random

    from gateway.routing import engine, request, thompson

    t = table.compile_table([model("good"), model("bad")])
    bucket = thompson.bucket_of(100)
    view = {
        ("good", bucket): thompson.ArmStats(80.0, 20.0, 1000.0),
        ("bad", bucket): thompson.ArmStats(20.0, 80.0, 1000.0),
    }
    req = request.RouteRequest(mode=modes.Mode.THOMPSON, input_tokens=100)
    rng = _random.Random(5)
    picks = [engine.route(t, req, health={}, bandit=view, now=1000.0, rng=rng).chosen for _ in range(50)]
    assert all(p is not None and p.name == "good" for p in picks)
    assert engine.route(t, req, health={}, bandit=view, now=1000.0, rng=rng).reason == "thompson-sample"
