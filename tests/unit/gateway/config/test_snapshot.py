"""Snapshot compilation: indices by client-visible name, routability, and tolerance of unreadable specs."""

from __future__ import annotations

from typing import Any

from gateway.config import documents, snapshot

Ref = documents.ObjectRef
Objects = dict[Ref, dict[str, Any]]


def test_models_are_indexed_by_name_and_alias_and_need_credentials() -> None:
    objects: Objects = {
        Ref("Provider", "default", "openai"): {
            "type": "openai",
            "baseURL": "https://api.openai.com/v1",
            "apiKeySecretRef": {"name": "c"},
        },
        Ref("Provider", "default", "local"): {"type": "openai-compatible", "baseURL": "http://127.0.0.1:1/v1"},
        Ref("Model", "default", "gpt"): {"providerRef": "openai", "upstreamModel": "gpt-4o", "aliases": ["smart"]},
        Ref("Model", "default", "llama"): {"providerRef": "local", "upstreamModel": "llama3"},
        Ref("Model", "default", "future"): {"providerRef": "local", "upstreamModel": "x", "newField": 1},
    }
    snap = snapshot.compile_snapshot(3, objects, {}, {})
    assert snap.revision == 3
    assert [m.ref.name for m in snap.model_names[("default", "smart")]] == ["gpt"]
    gpt = snap.models[Ref("Model", "default", "gpt")]
    assert not gpt.routable
    assert "credentials unresolved" in (gpt.provider.unavailable_reason or "")
    assert snap.routable_models == 1
    assert any("future" in str(p) for p in snap.problems)

    with_key = snapshot.compile_snapshot(4, objects, {Ref("Provider", "default", "openai"): b"sk-test"}, {})
    assert with_key.routable_models == 2
    assert "sk-test" not in repr(with_key.providers[Ref("Provider", "default", "openai")])


PROVIDER: dict[str, Any] = {"type": "openai-compatible", "baseURL": "http://127.0.0.1:1/v1"}
SEALED: dict[str, Any] = {"type": "openai", "baseURL": "https://api.openai.com/v1", "apiKeySecretRef": {"name": "c"}}
ZERO_WEIGHTS: dict[str, Any] = {"weights": {"normal": {"cost": 0, "latency": 0, "failure": 0, "weight": 0}}}


def reasons(snap: snapshot.ConfigSnapshot) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in snap.problems:
        found.setdefault(problem.reason, []).append(str(problem.ref))
    return found


def test_a_stored_policy_with_all_weights_zero_is_left_out_and_the_rest_is_served() -> None:
    objects: Objects = {
        Ref("Provider", "team", "local"): PROVIDER,
        Ref("Model", "team", "llama"): {"providerRef": "local", "upstreamModel": "llama3"},
        Ref("RoutingPolicy", "team", "zero"): ZERO_WEIGHTS,
        Ref("RoutingPolicy", "team", "fine"): {"default": True},
    }
    snap = snapshot.compile_snapshot(2, objects, {}, {})
    assert set(snap.policies) == {Ref("RoutingPolicy", "team", "fine")}
    assert snap.routable_models == 1
    (problem,) = snap.problems
    assert problem.ref == Ref("RoutingPolicy", "team", "zero") and problem.reason == "InvalidSpec"
    assert "at least one of cost, latency, failure and weight must be above 0" in problem.message


def test_a_credential_that_is_not_text_makes_only_its_provider_unroutable() -> None:
    objects: Objects = {
        Ref("Provider", "default", "openai"): SEALED,
        Ref("Provider", "default", "other"): SEALED,
        Ref("Model", "default", "gpt"): {"providerRef": "openai", "upstreamModel": "gpt-4o"},
        Ref("Model", "default", "mini"): {"providerRef": "other", "upstreamModel": "gpt-4o-mini"},
    }
    creds = {Ref("Provider", "default", "openai"): b"\xff\xfe sk", Ref("Provider", "default", "other"): b"sk-ok"}
    snap = snapshot.compile_snapshot(5, objects, creds, {})
    assert reasons(snap) == {"CredentialInvalid": ["Provider/default/openai"]}
    assert "not ASCII text" in snap.problems[0].message
    broken = snap.providers[Ref("Provider", "default", "openai")]
    assert not broken.routable and broken.credential is None
    assert "credential invalid" in (broken.unavailable_reason or "")
    assert snap.providers[Ref("Provider", "default", "other")].credential == "sk-ok"
    assert [m.ref.name for m in snap.models.values() if m.routable] == ["mini"]


def test_a_credential_that_does_not_open_is_listed_with_the_reason() -> None:
    objects: Objects = {Ref("Provider", "default", "openai"): SEALED}
    unreadable = {Ref("Provider", "default", "openai"): "blob failed authentication"}
    snap = snapshot.compile_snapshot(1, objects, {}, {}, unreadable)
    assert reasons(snap) == {"CredentialUnreadable": ["Provider/default/openai"]}
    assert not snap.providers[Ref("Provider", "default", "openai")].routable


def test_objects_that_disagree_lose_only_the_part_at_fault() -> None:
    objects: Objects = {
        Ref("Provider", "default", "local"): PROVIDER,
        Ref("Model", "default", "a"): {"providerRef": "local", "upstreamModel": "x", "aliases": ["fast"]},
        Ref("Model", "default", "b"): {"providerRef": "local", "upstreamModel": "y", "aliases": ["fast", "mini"]},
        Ref("Model", "default", "orphan"): {"providerRef": "ghost", "upstreamModel": "z"},
        Ref("RoutingPolicy", "default", "first"): {"default": True},
        Ref("RoutingPolicy", "default", "second"): {"default": True},
        Ref("ApiKey", "default", "app"): {"routingPolicyRef": "gone"},
    }
    snap = snapshot.compile_snapshot(1, objects, {}, {})
    assert reasons(snap) == {
        "AliasConflict": ["Model/default/b"],
        "ProviderNotFound": ["Model/default/orphan"],
        "DuplicateDefault": ["RoutingPolicy/default/second"],
        "PolicyNotFound": ["ApiKey/default/app"],
    }
    assert snap.models[Ref("Model", "default", "b")].aliases == ("mini",)
    assert [m.ref.name for m in snap.model_names[("default", "fast")]] == ["a"]
    assert Ref("Model", "default", "orphan") not in snap.models
    assert [r.name for r, p in snap.policies.items() if p.default] == ["first"]
    assert Ref("ApiKey", "default", "app") in snap.api_key_specs


def test_problems_for_says_what_the_gateways_will_do_with_one_object() -> None:
    stored: Objects = {
        Ref("Provider", "default", "local"): PROVIDER,
        Ref("Model", "default", "a"): {"providerRef": "local", "upstreamModel": "x", "aliases": ["fast"]},
    }
    newcomer = Ref("Model", "default", "b")
    (problem,) = snapshot.problems_for(
        newcomer, {"providerRef": "local", "upstreamModel": "y", "aliases": ["fast"]}, stored
    )
    assert (problem.reason, problem.path) == ("AliasConflict", "spec.aliases[0]")
    assert snapshot.problems_for(newcomer, {"providerRef": "local", "upstreamModel": "y"}, stored) == ()


def test_a_model_of_a_provider_left_out_is_left_out_too_naming_why() -> None:
    objects: Objects = {
        Ref("Provider", "default", "future"): {**PROVIDER, "newField": 1},
        Ref("Model", "default", "m"): {"providerRef": "future", "upstreamModel": "x"},
    }
    snap = snapshot.compile_snapshot(1, objects, {}, {})
    assert [(str(p.ref), p.reason, p.message) for p in snap.problems][1:] == [
        ("Model/default/m", "ProviderNotFound", "left out: Provider 'future' is left out itself")
    ]
    assert snap.problems[0].reason == "InvalidSpec" and "spec.newField: Extra inputs are not permitted" in str(
        snap.problems[0]
    )
