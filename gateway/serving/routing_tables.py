"""Compile a config snapshot into one routing table per namespace (pure).

Names in a table are namespace-local (what clients send); providers are named ``namespace/name`` so that one
health book serves every namespace without copying. Models whose provider is not routable are compiled as
disabled: the engine reports them as rejected instead of silently forgetting them.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.config import snapshot, specs
from gateway.routing import modes
from gateway.routing import table as tables

STICKINESS = {
    specs.Stickiness.NONE: tables.Stickiness.REQUEST,
    specs.Stickiness.REQUEST: tables.Stickiness.REQUEST,
    specs.Stickiness.API_KEY: tables.Stickiness.API_KEY,
    specs.Stickiness.ROUND_ROBIN: tables.Stickiness.ROUND_ROBIN,
}
IMPLICIT_DEFAULT = "default"


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
        aliases=tuple(spec.aliases),
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


def compile_tables(snap: snapshot.ConfigSnapshot) -> Mapping[str, tables.RoutingTable]:
    namespaces = {ref.namespace for ref in snap.models} | {ref.namespace for ref in snap.policies}
    compiled: dict[str, tables.RoutingTable] = {}
    for ns in sorted(namespaces):
        models = [model_view(m) for ref, m in snap.models.items() if ref.namespace == ns]
        policies = [policy_view(ref.name, p.spec) for ref, p in snap.policies.items() if ref.namespace == ns]
        default = next(
            (ref.name for ref, p in snap.policies.items() if ref.namespace == ns and p.spec.default), IMPLICIT_DEFAULT
        )
        compiled[ns] = tables.compile_table(models, policies, default_policy=default)
    return compiled
