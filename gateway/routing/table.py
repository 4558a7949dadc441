"""Routing inputs (models, policies) compiled once per config revision into an immutable, array-shaped table.

Everything request-independent is precomputed (name and alias indices, model sets as bitmasks, per-token
prices and their bounds, normalised mode weights), so a decision only reads flat tuples. A policy may name a
model by its name or one of its aliases; dangling policy references are dropped and listed in ``warnings``:
deleting a model never makes the config uncompilable.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.routing import errors, modes

DEFAULT_POLICY = "default"

# (model index, USD per input token, USD per output token, weight, provider index)
Row = tuple[int, float, float, int, int]


@dataclass(frozen=True, slots=True)
class ModelView:
    """One routable model, as the config snapshot sees it."""

    name: str
    provider: str
    upstream_model: str
    context_window: int
    input_per_1k: float
    output_per_1k: float
    weight: int
    capabilities: frozenset[str]
    enabled: bool = True
    aliases: tuple[str, ...] = ()


class Stickiness(enum.StrEnum):
    REQUEST = "request"
    API_KEY = "api_key"
    ROUND_ROBIN = "round_robin"


@dataclass(frozen=True, slots=True)
class AliasVariant:
    model: str
    weight: int


@dataclass(frozen=True, slots=True)
class AliasView:
    """A policy alias: a public name spread over weighted variants."""

    name: str
    variants: tuple[AliasVariant, ...]
    sticky_by: Stickiness = Stickiness.REQUEST


@dataclass(frozen=True, slots=True)
class BanditSettings:
    """Thompson sampling knobs; the reward scales are policy-wide so rewards stay comparable per arm."""

    half_life_s: float = 3600.0
    latency_target_ms: float = 5000.0
    budget_usd: float | None = None  # None: the policy's max_budget_usd, else 0.01 USD


def _empty_weights() -> Mapping[modes.Mode, modes.ModeWeights]:
    return MappingProxyType({})


def _empty_fallbacks() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    name: str = DEFAULT_POLICY
    default_mode: modes.Mode = modes.Mode.NORMAL
    weights: Mapping[modes.Mode, modes.ModeWeights] = field(default_factory=_empty_weights)
    max_budget_usd: float | None = None
    max_latency_ms: int | None = None
    min_weight: int = 0
    allow_degrade: bool = False
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_fallbacks)
    aliases: tuple[AliasView, ...] = ()
    bandit: BanditSettings = BanditSettings()


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    policy: RoutingPolicy
    weights: Mapping[modes.Mode, modes.ModeWeights]  # every mode present, each summing to 1
    aliases: Mapping[str, AliasView]  # variants as model names (aliases resolved), known, weight > 0
    fallbacks: Mapping[str, tuple[str, ...]]  # chains of model names, keyed by model name (aliases resolved)
    bandit_budget_usd: float


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Flat, index-aligned arrays over the models sorted by name (index order is the tie-break order)."""

    models: tuple[ModelView, ...]
    index: Mapping[str, int]
    model_aliases: Mapping[str, int]
    providers: tuple[str, ...]
    provider_of: tuple[int, ...]
    price_in: tuple[float, ...]  # USD per input token
    price_out: tuple[float, ...]  # USD per output token
    context: tuple[int, ...]
    weight: tuple[int, ...]
    weight_norm: tuple[float, ...]
    enabled: tuple[int, ...]
    disabled: tuple[int, ...]
    price_bounds: tuple[float, float, float, float]  # min_in, max_in, min_out, max_out over enabled models
    rows: tuple[Row, ...]  # one per model: the fields the eligibility loop unpacks in one step
    enabled_rows: tuple[Row, ...]
    # Model sets as bitmasks (bit i = model i), so the hard filters cost a few big-int operations.
    enabled_mask: int
    capability_masks: Mapping[str, int]
    context_floor: tuple[int, ...]  # ascending known context windows of the models
    context_masks: tuple[int, ...]  # [k]: models whose window >= context_floor[k], plus unknown windows
    provider_masks: tuple[int, ...]
    policies: Mapping[str, CompiledPolicy]
    default_policy: str
    warnings: tuple[str, ...]

    def with_capabilities(self, capabilities: Iterable[str]) -> int:
        mask = self.enabled_mask
        for cap in capabilities:
            mask &= self.capability_masks.get(cap, 0)
        return mask

    def with_context(self, tokens: int) -> int:
        """Models whose context window holds ``tokens`` (an unknown window, 0, holds anything)."""
        return self.context_masks[bisect.bisect_left(self.context_floor, tokens)]


def _check_model(m: ModelView) -> None:
    if not m.name or not m.provider:
        raise errors.TableError(f"model {m.name!r}: name and provider must be set")
    numbers = (m.input_per_1k, m.output_per_1k)
    if any(not math.isfinite(x) or x < 0 for x in numbers):
        raise errors.TableError(f"model {m.name!r}: prices must be finite and not negative")
    if not 0 <= m.weight <= 10:
        raise errors.TableError(f"model {m.name!r}: weight must be within 0..10")
    if m.context_window < 0:
        raise errors.TableError(f"model {m.name!r}: context window must not be negative")


def _compile_policy(p: RoutingPolicy, names: Mapping[str, str], warnings: list[str]) -> tuple[str, CompiledPolicy]:
    """``names`` maps every model name and model alias to the model's name: policies may use either."""
    weights = {mode: p.weights.get(mode, modes.DEFAULT_WEIGHTS[mode]) for mode in modes.Mode}
    try:
        normalised = {mode: w.normalised() for mode, w in weights.items()}
    except ValueError as exc:
        raise errors.TableError(f"policy {p.name!r}: {exc}") from exc
    fallbacks: dict[str, tuple[str, ...]] = {}
    for source, chain in p.fallbacks.items():
        own = names.get(source, source)  # a source may also be a policy alias, looked up by its own name
        known = [names[name] for name in chain if name in names]
        if len(known) != len(chain):
            warnings.append(f"policy {p.name!r}: fallback chain of {source!r} names unknown models")
        merged = (*fallbacks.get(own, ()), *known)
        fallbacks[own] = tuple(name for name in dict.fromkeys(merged) if name != own)
    aliases: dict[str, AliasView] = {}
    for alias in p.aliases:
        if alias.name in names:
            warnings.append(f"policy {p.name!r}: alias {alias.name!r} is shadowed by a model or model alias")
            continue
        weight_of: dict[str, int] = {}  # a model named twice (by its name and an alias) gets both weights
        usable = [v for v in alias.variants if v.model in names and v.weight > 0]
        for v in usable:
            weight_of[names[v.model]] = weight_of.get(names[v.model], 0) + v.weight
        if len(usable) != len(alias.variants):
            warnings.append(f"policy {p.name!r}: alias {alias.name!r} has unknown or zero-weight variants")
        if weight_of:
            variants = tuple(AliasVariant(model, weight) for model, weight in weight_of.items())
            aliases[alias.name] = AliasView(alias.name, variants, alias.sticky_by)
    budget = p.bandit.budget_usd or p.max_budget_usd or 0.01
    compiled = CompiledPolicy(
        p, MappingProxyType(normalised), MappingProxyType(aliases), MappingProxyType(fallbacks), budget
    )
    return p.name, compiled


def compile_table(
    models: Iterable[ModelView], policies: Iterable[RoutingPolicy] = (), default_policy: str = DEFAULT_POLICY
) -> RoutingTable:
    ordered = sorted(models, key=lambda m: m.name)
    index: dict[str, int] = {}
    for i, m in enumerate(ordered):
        _check_model(m)
        if m.name in index:
            raise errors.TableError(f"duplicate model name {m.name!r}")
        index[m.name] = i
    warnings: list[str] = []
    model_aliases: dict[str, int] = {}
    for i, m in enumerate(ordered):
        for alias in m.aliases:
            if alias in index or alias in model_aliases:
                warnings.append(f"model {m.name!r}: alias {alias!r} is already taken")
                continue
            model_aliases[alias] = i
    providers = tuple(sorted({m.provider for m in ordered}))
    provider_index = {p: i for i, p in enumerate(providers)}
    cap_names = sorted({c for m in ordered for c in m.capabilities})
    enabled = tuple(i for i, m in enumerate(ordered) if m.enabled)
    price_in = tuple(m.input_per_1k / 1000.0 for m in ordered)
    price_out = tuple(m.output_per_1k / 1000.0 for m in ordered)
    ins = [price_in[i] for i in enabled] or [0.0]
    outs = [price_out[i] for i in enabled] or [0.0]
    provider_of = tuple(provider_index[m.provider] for m in ordered)
    rows = tuple((i, price_in[i], price_out[i], m.weight, provider_of[i]) for i, m in enumerate(ordered))
    by_window = sorted((m.context_window, i) for i, m in enumerate(ordered) if m.context_window > 0)
    unknown_window = sum(1 << i for i, m in enumerate(ordered) if m.context_window <= 0)
    context_masks = [unknown_window]
    for _, i in reversed(by_window):
        context_masks.append(context_masks[-1] | 1 << i)
    context_masks.reverse()
    names = {**{alias: ordered[i].name for alias, i in model_aliases.items()}, **{m.name: m.name for m in ordered}}
    compiled = dict(_compile_policy(p, names, warnings) for p in policies)
    if default_policy not in compiled:
        compiled[default_policy] = _compile_policy(RoutingPolicy(name=default_policy), names, warnings)[1]
    return RoutingTable(
        models=tuple(ordered),
        index=MappingProxyType(index),
        model_aliases=MappingProxyType(model_aliases),
        providers=providers,
        provider_of=provider_of,
        price_in=price_in,
        price_out=price_out,
        context=tuple(m.context_window for m in ordered),
        weight=tuple(m.weight for m in ordered),
        weight_norm=tuple(m.weight / 10.0 for m in ordered),
        enabled=enabled,
        disabled=tuple(i for i, m in enumerate(ordered) if not m.enabled),
        price_bounds=(min(ins), max(ins), min(outs), max(outs)),
        rows=rows,
        enabled_rows=tuple(rows[i] for i in enabled),
        enabled_mask=sum(1 << i for i in enabled),
        capability_masks=MappingProxyType(
            {c: sum(1 << i for i, m in enumerate(ordered) if c in m.capabilities) for c in cap_names}
        ),
        context_floor=tuple(w for w, _ in by_window),
        context_masks=tuple(context_masks),
        provider_masks=tuple(
            sum(1 << i for i in range(len(ordered)) if provider_of[i] == p) for p in range(len(providers))
        ),
        policies=MappingProxyType(compiled),
        default_policy=default_policy,
        warnings=tuple(warnings),
    )
