"""Compile a config snapshot into one routing table per namespace (pure, and never failing as a whole).

Names in a table are namespace-local (what clients send); providers are named ``namespace/name`` so that one
health book serves every namespace without copying. Models whose provider is not routable are compiled as
disabled: the engine reports them as rejected instead of silently forgetting them.

Every rule the table compile enforces is a spec rule, so a snapshot's objects always compile (a property test
holds this). Should one still raise - a bug - the namespace is compiled again object by object: whatever raises
alone is left out and reported as a problem naming it, and the rest of the namespace is served.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from gateway.config import snapshot, specs
from gateway.routing import modes
from gateway.routing import table as tables

log = logging.getLogger(__name__)

STICKINESS = {
    specs.Stickiness.NONE: tables.Stickiness.REQUEST,
    specs.Stickiness.REQUEST: tables.Stickiness.REQUEST,
    specs.Stickiness.API_KEY: tables.Stickiness.API_KEY,
    specs.Stickiness.ROUND_ROBIN: tables.Stickiness.ROUND_ROBIN,
}
IMPLICIT_DEFAULT = "default"
DERIVED_KEY = "routing_tables"
E = TypeVar("E")
W = TypeVar("W")


@dataclasses.dataclass(frozen=True, slots=True)
class RoutingTables:
    by_namespace: Mapping[str, tables.RoutingTable]
    problems: tuple[snapshot.Problem, ...] = ()  # objects left out of a table; empty unless the compiler has a bug


def provider_key(ref: snapshot.Ref) -> str:
    return f"{ref.namespace}/{ref.name}"


def model_view(model: snapshot.ModelEntry) -> tables.ModelView:
    spec = model.spec
    return tables.ModelView(
        name=model.ref.name,
        provider=provider_key(model.provider.ref),
        upstream_model=spec.upstream_model,
        context_window=spec.context_window,
        input_per_1k=spec.pricing.input_per_1k,
        output_per_1k=spec.pricing.output_per_1k,
        weight=spec.weight,
        capabilities=frozenset(c.value for c in spec.capabilities),
        enabled=model.routable,
        aliases=model.aliases,
    )


def policy_view(name: str, spec: specs.RoutingPolicySpec) -> tables.RoutingPolicy:
    return tables.RoutingPolicy(
        name=name,
        default_mode=modes.Mode(spec.mode.value),
        weights={
            modes.Mode(mode.value): modes.ModeWeights(w.cost, w.latency, w.failure, w.weight)
            for mode, w in spec.weights.items()
        },
        max_budget_usd=spec.max_budget_usd,
        max_latency_ms=spec.max_latency_ms,
        min_weight=spec.min_weight or 0,
        allow_degrade=spec.allow_degrade,
        fallbacks={f.model: tuple(f.to) for f in spec.fallbacks},
        aliases=tuple(
            tables.AliasView(
                a.name, tuple(tables.AliasVariant(v.model, v.weight) for v in a.variants), STICKINESS[a.stickiness]
            )
            for a in spec.aliases
        ),
        bandit=tables.BanditSettings(
            half_life_s=spec.bandit.half_life_seconds, latency_target_ms=spec.bandit.latency_target_ms
        ),
    )


def _left_out(ref: snapshot.Ref, exc: Exception) -> snapshot.Problem:
    log.error("%s does not compile into the routing table; it is left out", ref, exc_info=exc)
    message = f"left out of the routing table: compiling it raised {type(exc).__name__}: {exc}"
    return snapshot.Problem(ref, "", "CompileFailed", message)


def _views(
    entries: Mapping[snapshot.Ref, E], view: Callable[[snapshot.Ref, E], W], problems: list[snapshot.Problem]
) -> dict[snapshot.Ref, W]:
    out: dict[snapshot.Ref, W] = {}
    for ref, entry in entries.items():
        try:
            out[ref] = view(ref, entry)
        except Exception as exc:  # isolation: logged with its traceback and listed as a problem
            problems.append(_left_out(ref, exc))
    return out


def _namespace(
    models: Mapping[snapshot.Ref, tables.ModelView],
    policies: Mapping[snapshot.Ref, tables.RoutingPolicy],
    default: str,
    problems: list[snapshot.Problem],
) -> tables.RoutingTable:
    try:
        return tables.compile_table(models.values(), policies.values(), default_policy=default)
    except Exception:  # isolation: find the objects at fault below, each logged and listed
        log.exception("a routing table does not compile; compiling its objects one by one")
    good_models: list[tables.ModelView] = []
    for ref, m in models.items():
        try:
            tables.compile_table([m])
            good_models.append(m)
        except Exception as exc:  # isolation, as above
            problems.append(_left_out(ref, exc))
    good_policies: list[tables.RoutingPolicy] = []
    for ref, p in policies.items():
        try:
            tables.compile_table(good_models, [p], default_policy=p.name)
            good_policies.append(p)
        except Exception as exc:  # isolation, as above
            problems.append(_left_out(ref, exc))
    if default not in {p.name for p in good_policies}:
        default = IMPLICIT_DEFAULT
    try:
        return tables.compile_table(good_models, good_policies, default_policy=default)
    except Exception as exc:  # the objects only fail together: none of them is served
        for ref in (*models, *policies):
            problems.append(_left_out(ref, exc))
        return tables.compile_table([], [], default_policy=IMPLICIT_DEFAULT)


def compile_tables(snap: snapshot.ConfigSnapshot) -> RoutingTables:
    problems: list[snapshot.Problem] = []
    models = _views(snap.models, lambda _, m: model_view(m), problems)
    policies = _views(snap.policies, lambda ref, p: policy_view(ref.name, p.spec), problems)
    defaults = {ref.namespace: ref.name for ref, p in snap.policies.items() if p.default}
    compiled: dict[str, tables.RoutingTable] = {}
    for ns in sorted({ref.namespace for ref in snap.models} | {ref.namespace for ref in snap.policies}):
        compiled[ns] = _namespace(
            {ref: m for ref, m in models.items() if ref.namespace == ns},
            {ref: p for ref, p in policies.items() if ref.namespace == ns},
            defaults.get(ns, IMPLICIT_DEFAULT),
            problems,
        )
    return RoutingTables(MappingProxyType(compiled), tuple(problems))


def attach(snap: snapshot.ConfigSnapshot) -> snapshot.ConfigSnapshot:
    """The snapshot carrying its routing tables and listing any object they left out (call off the event loop)."""
    compiled = compile_tables(snap)
    return snapshot.with_derived(snap, DERIVED_KEY, compiled, compiled.problems)


def of(snap: snapshot.ConfigSnapshot) -> RoutingTables:
    """The tables ``attach`` compiled with the snapshot, or compiled now for a snapshot made without them."""
    found = snap.derived.get(DERIVED_KEY)
    return found if isinstance(found, RoutingTables) else compile_tables(snap)
