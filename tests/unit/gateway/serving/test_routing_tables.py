"""Routing tables per namespace: what one object breaks stays with it, even when validation was bypassed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.config import documents, snapshot, specs
from gateway.serving import routing_tables

Ref = documents.ObjectRef
LOCAL: dict[str, Any] = {"type": "openai-compatible", "baseURL": "http://127.0.0.1:1/v1"}


def compiled(objects: dict[Ref, dict[str, Any]]) -> snapshot.ConfigSnapshot:
    return snapshot.compile_snapshot(1, objects, {}, {})


def test_tables_compile_with_the_snapshot_once_and_are_read_back() -> None:
    snap = routing_tables.attach(
        compiled({Ref("Provider", "a", "p"): LOCAL, Ref("Model", "a", "m"): {"providerRef": "p", "upstreamModel": "x"}})
    )
    assert routing_tables.of(snap) is routing_tables.of(snap)
    assert [m.name for m in routing_tables.of(snap).by_namespace["a"].models] == ["m"]


def test_an_object_the_table_cannot_take_is_left_out_alone(caplog: pytest.LogCaptureFixture) -> None:
    """A snapshot made by hand with specs that skip validation: what a compiler bug upstream would produce."""
    snap = compiled(
        {
            Ref("Provider", "team", "p"): LOCAL,
            Ref("Model", "team", "good"): {"providerRef": "p", "upstreamModel": "x"},
            Ref("Model", "team", "bad"): {"providerRef": "p", "upstreamModel": "y"},
            Ref("RoutingPolicy", "team", "strict"): {"default": True},
            Ref("RoutingPolicy", "team", "loose"): {},
            Ref("Model", "other", "fine"): {"providerRef": "p", "upstreamModel": "z"},
            Ref("Provider", "other", "p"): LOCAL,
        }
    )
    bad = snap.models[Ref("Model", "team", "bad")]
    broken_price = specs.Pricing.model_construct(input_per_1k=float("inf"), output_per_1k=0.0)
    zero = specs.ModeWeights.model_construct(cost=0.0, latency=0.0, failure=0.0, weight=0.0)
    strict = snap.policies[Ref("RoutingPolicy", "team", "strict")]
    snap = dataclasses.replace(
        snap,
        models={
            **snap.models,
            bad.ref: dataclasses.replace(bad, spec=bad.spec.model_copy(update={"pricing": broken_price})),
        },
        policies={
            **snap.policies,
            strict.ref: dataclasses.replace(
                strict, spec=strict.spec.model_copy(update={"weights": {specs.Mode.CHEAP: zero}})
            ),
        },
    )

    with_tables = routing_tables.attach(snap)

    problems = {(str(p.ref), p.reason) for p in with_tables.problems}
    assert problems == {("Model/team/bad", "CompileFailed"), ("RoutingPolicy/team/strict", "CompileFailed")}
    team = routing_tables.of(with_tables).by_namespace["team"]
    assert [m.name for m in team.models] == ["good"]
    assert set(team.policies) == {"loose", routing_tables.IMPLICIT_DEFAULT}
    assert team.default_policy == routing_tables.IMPLICIT_DEFAULT
    assert [m.name for m in routing_tables.of(with_tables).by_namespace["other"].models] == ["fine"]
    assert "Model/team/bad does not compile into the routing table" in caplog.text
