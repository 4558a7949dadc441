"""The compiled, immutable configuration a gateway serves from.

Stored specs are compiled once per config revision into plain frozen objects with precomputed indices; the
request path only reads them and never parses or queries. A spec the running code cannot read (written by a
newer operator, say) is left out and listed in ``problems`` instead of failing the whole snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pydantic

from gateway.config import documents, specs

Ref = documents.ObjectRef


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderEntry:
    ref: Ref
    spec: specs.ProviderSpec
    credential: str | None = dataclasses.field(repr=False)
    unavailable_reason: str | None = None

    @property
    def routable(self) -> bool:
        return self.spec.enabled and self.unavailable_reason is None


@dataclasses.dataclass(frozen=True, slots=True)
class ModelEntry:
    ref: Ref
    spec: specs.ModelSpec
    provider: ProviderEntry

    @property
    def routable(self) -> bool:
        return self.spec.enabled and self.provider.routable


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyEntry:
    ref: Ref
    spec: specs.RoutingPolicySpec


@dataclasses.dataclass(frozen=True, slots=True)
class KeyRecord:
    """One issued key of an ApiKey resource (an ApiKey may hold two during a rotation's grace period)."""

    key_id: str
    secret_hash: bytes = dataclasses.field(repr=False)
    key_prefix: str
    created_at: dt.datetime
    valid_until: dt.datetime | None
    disabled: bool


@dataclasses.dataclass(frozen=True, slots=True)
class KeyEntry:
    ref: Ref
    spec: specs.ApiKeySpec
    record: KeyRecord


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    revision: int
    providers: Mapping[Ref, ProviderEntry]
    models: Mapping[Ref, ModelEntry]
    policies: Mapping[Ref, PolicyEntry]
    api_key_specs: Mapping[Ref, specs.ApiKeySpec]
    keys_by_id: Mapping[str, KeyEntry]
    # (namespace, client-visible name or alias) -> models answering to it, in a stable order
    model_names: Mapping[tuple[str, str], tuple[ModelEntry, ...]]
    problems: tuple[str, ...] = ()

    @property
    def routable_models(self) -> int:
        return sum(1 for m in self.models.values() if m.routable)


EMPTY = ConfigSnapshot(0, {}, {}, {}, {}, {}, {})


def _parse(ref: Ref, raw: Mapping[str, Any], problems: list[str]) -> pydantic.BaseModel | None:
    spec_type = specs.SPEC_TYPES.get(ref.kind)
    if spec_type is None:
        problems.append(f"{ref}: unknown kind")
        return None
    try:
        return spec_type.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems.append(f"{ref}: stored spec is not readable by this version: {exc.error_count()} error(s)")
        return None


def _provider(ref: Ref, spec: specs.ProviderSpec, credentials: Mapping[Ref, str]) -> ProviderEntry:
    credential = credentials.get(ref)
    reason = None
    if spec.api_key_secret_ref is not None and credential is None:
        secret = spec.api_key_secret_ref
        reason = f"credentials unresolved: Secret {secret.name!r} key {secret.key!r}"
    return ProviderEntry(ref, spec, credential, reason)


def compile_snapshot(
    revision: int,
    objects: Mapping[Ref, Mapping[str, Any]],
    credentials: Mapping[Ref, str],
    keys: Mapping[Ref, list[KeyRecord]],
) -> ConfigSnapshot:
    problems: list[str] = []
    parsed = {ref: spec for ref, raw in sorted(objects.items()) if (spec := _parse(ref, raw, problems)) is not None}
    providers = {
        ref: _provider(ref, spec, credentials) for ref, spec in parsed.items() if isinstance(spec, specs.ProviderSpec)
    }
    models: dict[Ref, ModelEntry] = {}
    names: dict[tuple[str, str], list[ModelEntry]] = {}
    for ref, spec in parsed.items():
        if not isinstance(spec, specs.ModelSpec):
            continue
        provider = providers.get(Ref("Provider", ref.namespace, spec.provider_ref))
        if provider is None:
            problems.append(f"{ref}: Provider {spec.provider_ref!r} does not exist")
            continue
        entry = ModelEntry(ref, spec, provider)
        models[ref] = entry
        for name in (ref.name, *spec.aliases):
            names.setdefault((ref.namespace, name), []).append(entry)
    policies = {ref: PolicyEntry(ref, s) for ref, s in parsed.items() if isinstance(s, specs.RoutingPolicySpec)}
    key_specs = {ref: s for ref, s in parsed.items() if isinstance(s, specs.ApiKeySpec)}
    keys_by_id = {
        record.key_id: KeyEntry(ref, key_specs[ref], record)
        for ref, records in keys.items()
        if ref in key_specs
        for record in records
    }
    return ConfigSnapshot(
        revision=revision,
        providers=providers,
        models=models,
        policies=policies,
        api_key_specs=key_specs,
        keys_by_id=keys_by_id,
        model_names={k: tuple(v) for k, v in names.items()},
        problems=tuple(problems),
    )
