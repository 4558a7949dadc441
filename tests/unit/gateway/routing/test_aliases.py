from __future__ import annotations

import random
from collections import Counter

from gateway.routing import aliases, request, table
from tests.unit.gateway.routing.factories import model, names, route

VARIANTS = (table.AliasVariant("a", 2), table.AliasVariant("b", 1))


def alias_table(sticky: table.Stickiness) -> table.RoutingTable:
    policy = table.RoutingPolicy(aliases=(table.AliasView("smart", VARIANTS, sticky),))
    return table.compile_table([model("a"), model("b"), model("c")], [policy])


def test_round_robin_follows_the_weights_in_sequence() -> None:
    t = alias_table(table.Stickiness.ROUND_ROBIN)
    picks = [route(t, model="smart", round_robin_counter=k).chosen.name for k in range(6)]  # type: ignore[union-attr]
    assert picks == ["a", "a", "b", "a", "a", "b"]


def test_api_key_stickiness_gives_one_key_one_variant() -> None:
    t = alias_table(table.Stickiness.API_KEY)
    picks = {route(t, model="smart", api_key_id="key-1", request_id=str(k)).chosen.name for k in range(20)}  # type: ignore[union-attr]
    assert len(picks) == 1


def test_request_stickiness_spreads_requests_by_weight() -> None:
    t = alias_table(table.Stickiness.REQUEST)
    counts = Counter(route(t, model="smart", request_id=f"r{k}").chosen.name for k in range(3000))  # type: ignore[union-attr]
    assert 0.6 < counts["a"] / 3000 < 0.73


def test_alias_chain_falls_back_to_the_other_variants() -> None:
    t = alias_table(table.Stickiness.ROUND_ROBIN)
    d = route(t, model="smart", round_robin_counter=2)
    assert names(d) == ["b", "a"]
    assert d.alias == "smart" and d.reason == "alias-variant"


def test_fnv1a_matches_the_reference_vector() -> None:
    assert aliases.fnv1a_32(b"") == 0x811C9DC5
    assert aliases.fnv1a_32(b"a") == 0xE40C292C


def test_policy_references_to_missing_models_are_dropped_with_a_warning() -> None:
    policy = table.RoutingPolicy(
        fallbacks={"a": ("gone",)}, aliases=(table.AliasView("x", (table.AliasVariant("gone", 1),)),)
    )
    t = table.compile_table([model("a")], [policy])
    assert len(t.warnings) == 2
    assert aliases.resolve(t, t.policies["default"], request.RouteRequest(model="a"), random.Random()).chain == (0,)
