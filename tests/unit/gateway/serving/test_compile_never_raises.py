"""Validation is the compiler: any set of specs that pass validation compiles into a snapshot and routing tables.

Documents are drawn broadly - several namespaces, a small pool of names so that model names, model aliases and
policy aliases collide, dangling references, several default policies, zero and subnormal weights and prices,
extreme bounds, arbitrary credential bytes - and each is kept only if its spec validates, as ``tokenhub
validate`` and the CRD would. Compiling must never raise; what it cannot serve is listed, never dropped silently;
and a set the cross-object check accepts compiles with nothing listed and nothing dropped.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import crosscheck, documents, snapshot, specs
from gateway.routing import aliases, request
from gateway.serving import routing_tables

Ref = documents.ObjectRef

NAMESPACES = ("default", "team-a", "team-b")
MODELS = ("a", "b", "gpt", "cheap")
MODEL_ALIASES = ("fast", "gpt-4o", "a", "b")  # some are model names: aliases collide with names and each other
POLICY_ALIASES = ("mix", "smart", "fast", "a")
# What fallbacks and variants name: mostly models or their aliases, sometimes a policy alias or nothing at all.
NAMES = (*MODELS, *MODELS, *MODEL_ALIASES, "mix", "ghost")
POLICIES = ("default", "strict", "a")
KEYS = ("app", "batch")
PROVIDERS = ("p", "q")

in_unit = st.floats(min_value=0, max_value=1, allow_subnormal=True)
unit = st.one_of(
    st.sampled_from([0.0, 1.0, 5e-324, 1e-300, 0.5]),
    in_unit,
    in_unit,
    in_unit,
    st.floats(min_value=-1, max_value=2),  # out of range at times: validation refuses, the object is dropped
)
usd = st.one_of(
    st.sampled_from([0.0, 5e-324, 1e-12, 1_000_000.0]),
    st.floats(min_value=0, max_value=1_000_000, allow_subnormal=True),
)
names = st.sampled_from(NAMES)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


secret_ref = st.fixed_dictionaries({"name": st.just("creds")}, optional={"key": st.just("token")})
provider_spec = st.one_of(
    optional(timeoutSeconds=st.sampled_from([1e-9, 60, 3600]), enabled=st.booleans()).flatmap(
        lambda d: secret_ref.map(
            lambda ref: {"type": "openai", "baseURL": "http://127.0.0.1:1/v1/", "apiKeySecretRef": ref, **d}
        )
    ),
    optional(enabled=st.booleans(), apiKeySecretRef=secret_ref).map(
        lambda d: {"type": "vllm", "endpoints": ["http://127.0.0.1:2/v1", "http://127.0.0.1:3/v1"], **d}
    ),
    optional(apiKeySecretRef=secret_ref).map(
        lambda d: {"type": "openai-compatible", "baseURL": "http://[::1]:8/v1", **d}
    ),
    optional(apiKeySecretRef=secret_ref).map(
        lambda d: {"type": "anthropic", "baseURL": "https://api.example.com", **d}
    ),
)
model_spec = optional(
    aliases=st.one_of(
        st.lists(st.sampled_from(MODEL_ALIASES), max_size=3, unique=True),
        st.lists(st.sampled_from(MODEL_ALIASES), max_size=3),
    ),
    contextWindow=st.sampled_from([1, 8192, 100_000_000]),
    maxOutputTokens=st.sampled_from([1, 10_000_000]),
    pricing=optional(inputPer1K=usd, outputPer1K=usd),
    weight=st.integers(min_value=-1, max_value=11),
    capabilities=st.lists(st.sampled_from([c.value for c in specs.Capability]), max_size=5),
    enabled=st.booleans(),
).flatmap(
    lambda d: st.fixed_dictionaries({"providerRef": st.sampled_from(["p", "p", "p", "q", "ghost"])}).map(
        lambda ref: {"upstreamModel": "m", **ref, **d}
    )
)
zero_or_unit = st.one_of(st.just(0.0), unit)
mode_weights = st.one_of(
    st.fixed_dictionaries({"cost": zero_or_unit, "latency": zero_or_unit, "failure": zero_or_unit, "weight": unit}),
    st.fixed_dictionaries({term: st.just(0) for term in ("cost", "latency", "failure", "weight")}),
    optional(cost=unit, latency=unit, failure=unit, weight=unit),
)
policy_spec = optional(
    default=st.booleans(),
    mode=st.sampled_from([m.value for m in specs.Mode]),
    weights=st.dictionaries(st.sampled_from([m.value for m in specs.Mode]), mode_weights, max_size=3),
    maxBudgetUSD=usd,
    maxLatencyMs=st.sampled_from([1, 3_600_000]),
    minWeight=st.integers(min_value=0, max_value=10),
    allowDegrade=st.booleans(),
    fallbacks=st.lists(
        st.fixed_dictionaries({"model": names, "to": st.lists(names, min_size=1, max_size=3, unique=True)}),
        max_size=3,
        unique_by=lambda f: f["model"],
    ),
    aliases=st.lists(
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(POLICY_ALIASES),
                "variants": st.lists(
                    st.fixed_dictionaries({"model": names, "weight": st.integers(min_value=0, max_value=1000)}),
                    min_size=1,
                    max_size=3,
                    unique_by=lambda v: v["model"],
                ),
                "stickiness": st.sampled_from([s.value for s in specs.Stickiness]),
            }
        ),
        max_size=3,
        unique_by=lambda a: a["name"],
    ),
    bandit=optional(
        halfLifeSeconds=st.sampled_from([1e-300, 3600.0, 30 * 86400.0]),
        latencyTargetMs=st.sampled_from([1e-300, 600_000.0]),
    ),
)
apikey_spec = optional(
    routingPolicyRef=st.sampled_from([*POLICIES, "ghost"]),
    allowedModels=st.lists(names, max_size=3),
    monthlyBudgetUSD=usd,
    disabled=st.booleans(),
)
SPECS = {"Provider": provider_spec, "Model": model_spec, "RoutingPolicy": policy_spec, "ApiKey": apikey_spec}


@st.composite
def documents_(draw: st.DrawFn) -> dict[Ref, dict[str, Any]]:
    """Valid stored objects in one to three namespaces: drawn broadly, kept only when their spec validates."""
    objects: dict[Ref, dict[str, Any]] = {}
    pools = {"Provider": PROVIDERS, "Model": MODELS, "RoutingPolicy": POLICIES, "ApiKey": KEYS}
    for ns in draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=3, unique=True)):
        for kind, pool in pools.items():
            chosen = st.lists(st.sampled_from(pool), max_size=len(pool), unique=True)
            if kind == "Provider":  # most namespaces have the Provider most Models name
                chosen = st.sampled_from([("p",), ("p",), ("p", "q"), ("q",), ()])
            for name in draw(chosen):
                raw = draw(SPECS[kind])
                try:
                    objects[Ref(kind, ns, name)] = specs.spec_to_json(specs.SPEC_TYPES[kind].model_validate(raw))
                except pydantic.ValidationError:
                    continue
    return objects


credential_bytes = st.one_of(st.just(b"sk-valid-0123456789"), st.binary(max_size=24))


@st.composite
def credentials_for(draw: st.DrawFn, objects: dict[Ref, dict[str, Any]]) -> dict[Ref, bytes]:
    providers = sorted(ref for ref in objects if ref.kind == "Provider")
    return {ref: draw(credential_bytes) for ref in providers if draw(st.booleans())}


def key_records(objects: dict[Ref, dict[str, Any]]) -> dict[Ref, list[snapshot.KeyRecord]]:
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return {
        ref: [snapshot.KeyRecord(f"id{i}", b"h" * 32, "thk_", created, None, False)]
        for i, ref in enumerate(sorted(r for r in objects if r.kind == "ApiKey"))
    }


def every_name_resolves(compiled: snapshot.ConfigSnapshot, tables: routing_tables.RoutingTables) -> None:
    rng = random.Random(0)
    for ns, table in tables.by_namespace.items():
        names_here = [*table.index, *table.model_aliases]
        for policy in table.policies.values():
            for name in [*names_here, *policy.aliases]:
                chain = aliases.resolve(table, policy, request.RouteRequest(model=name, request_id="r"), rng).chain
                assert chain, (ns, name)
    for ns, name in compiled.model_names:
        assert name in tables.by_namespace[ns].index or name in tables.by_namespace[ns].model_aliases


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_valid_documents_always_compile(data: st.DataObject) -> None:
    objects = data.draw(documents_())
    creds = data.draw(credentials_for(objects))
    compiled = routing_tables.attach(snapshot.compile_snapshot(7, objects, creds, key_records(objects)))
    tables = routing_tables.of(compiled)

    assert {p.ref for p in compiled.problems} <= set(objects)
    assert not [p for p in compiled.problems if p.reason in ("InvalidSpec", "UnknownKind", "CompileFailed")]
    assert set(tables.by_namespace) == {r.namespace for r in (*compiled.models, *compiled.policies)}
    for ns, table in tables.by_namespace.items():
        assert {m.name for m in table.models} == {r.name for r in compiled.models if r.namespace == ns}
        assert set(table.policies) >= {r.name for r in compiled.policies if r.namespace == ns}
    every_name_resolves(compiled, tables)


positive_weights = st.fixed_dictionaries(
    {"cost": in_unit, "latency": in_unit, "failure": in_unit, "weight": st.sampled_from([5e-324, 1e-300, 1.0])}
)


@st.composite
def coherent_documents(draw: st.DrawFn) -> dict[Ref, dict[str, Any]]:
    """Objects that refer only to what exists and whose names never collide: what ``validate`` accepts."""
    objects: dict[Ref, dict[str, Any]] = {}
    for ns in draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=2, unique=True)):
        objects[Ref("Provider", ns, "p")] = {"type": "vllm", "endpoints": ["http://127.0.0.1:2/v1"]}
        models = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=len(MODELS), unique=True))
        free = [a for a in ("fast", "gpt-4o", "smart", "mini") if a not in models]
        known = list(models)
        for name in models:
            taken = draw(st.lists(st.sampled_from(free), max_size=2, unique=True)) if free else []
            free = [a for a in free if a not in taken]
            known.extend(taken)
            raw = {"providerRef": "p", "upstreamModel": name, "aliases": taken, "weight": draw(st.integers(0, 10))}
            objects[Ref("Model", ns, name)] = raw
        targets = st.sampled_from(known)
        policy_names = draw(st.lists(st.sampled_from(("default", "strict")), max_size=2, unique=True))
        for i, policy in enumerate(policy_names):
            fallbacks = draw(
                st.lists(
                    st.fixed_dictionaries({"model": targets, "to": st.lists(targets, min_size=1, unique=True)}),
                    max_size=3,
                    unique_by=lambda f: f["model"],
                )
            )
            fallbacks = [{**f, "to": [t for t in f["to"] if t != f["model"]]} for f in fallbacks]
            variants = st.lists(
                st.fixed_dictionaries({"model": targets, "weight": st.integers(1, 1000)}),
                min_size=1,
                max_size=3,
                unique_by=lambda v: v["model"],
            )
            alias_names = draw(st.lists(st.sampled_from(("mix", "blend")), max_size=2, unique=True))
            objects[Ref("RoutingPolicy", ns, policy)] = {
                "default": i == 0 and draw(st.booleans()),
                "fallbacks": [f for f in fallbacks if f["to"]],
                "aliases": [{"name": name, "variants": draw(variants)} for name in alias_names],
                "weights": {"normal": draw(positive_weights)},
            }
        objects[Ref("ApiKey", ns, "app")] = {"routingPolicyRef": policy_names[0]} if policy_names else {}
    return objects


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coherent_documents())
def test_a_config_validate_accepts_compiles_with_nothing_left_out(objects: dict[Ref, dict[str, Any]]) -> None:
    parsed = [(ref, specs.SPEC_TYPES[ref.kind].model_validate(raw)) for ref, raw in sorted(objects.items())]
    assert crosscheck.examine(parsed).findings == ()
    compiled = routing_tables.attach(snapshot.compile_snapshot(1, objects, {}, key_records(objects)))
    tables = routing_tables.of(compiled)
    assert compiled.problems == ()
    assert {r for r in objects if r.kind == "Model"} == set(compiled.models)
    rng = random.Random(0)
    for ref, spec in parsed:
        if not isinstance(spec, specs.RoutingPolicySpec):
            continue
        table = tables.by_namespace[ref.namespace]
        assert table.warnings == ()
        policy = table.policies[ref.name]
        for fallback in spec.fallbacks:  # a fallback is followed whether it names a model or one of its aliases
            req = request.RouteRequest(model=fallback.model, request_id="r")
            chain = [table.models[i].name for i in aliases.resolve(table, policy, req, rng).chain]
            canonical = {n: table.models[i].name for n, i in (*table.index.items(), *table.model_aliases.items())}
            assert {canonical[t] for t in fallback.to} - {chain[0]} <= set(chain[1:])
        for policy_alias in spec.aliases:
            req = request.RouteRequest(model=policy_alias.name, request_id="r")
            assert aliases.resolve(table, policy, req, rng).chain


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_what_the_cross_check_accepts_compiles_whole(data: st.DataObject) -> None:
    objects = data.draw(documents_())
    parsed = [(ref, specs.SPEC_TYPES[ref.kind].model_validate(raw)) for ref, raw in sorted(objects.items())]
    if crosscheck.examine(parsed).findings:
        return  # validate/apply would refuse this set; the first property covers it
    compiled = routing_tables.attach(snapshot.compile_snapshot(1, objects, {}, key_records(objects)))
    tables = routing_tables.of(compiled)
    assert compiled.problems == ()
    assert {r for r in objects if r.kind == "Model"} == set(compiled.models)
    for table in tables.by_namespace.values():
        assert table.warnings == ()
