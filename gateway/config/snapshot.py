"""The compiled, immutable configuration a gateway serves from.

Stored specs are compiled once per config revision into plain frozen objects with precomputed indices; the
request path only reads them and never parses or queries. The store may hold what validation would refuse (a
spec written by a newer or older version, a Secret's bytes, objects from owners that disagree), so every object
is compiled on its own: one that does not compile is left out, or loses only the part at fault, and is listed
in ``problems`` with the reason. Compiling never fails as a whole because of one object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

import pydantic

from gateway.config import ca_bundles, crosscheck, documents, egress, specs
from gateway.config import credentials as credentials_mod

Ref = documents.ObjectRef
Problem = documents.Finding
T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderEntry:
    ref: Ref
    spec: specs.ProviderSpec
    credential: str | None = dataclasses.field(repr=False)
    unavailable_reason: str | None = None
    ca_bundle: str | None = dataclasses.field(default=None, repr=False)  # PEM text, when the spec names one

    @property
    def routable(self) -> bool:
        return self.spec.enabled and self.unavailable_reason is None


@dataclasses.dataclass(frozen=True, slots=True)
class ModelEntry:
    ref: Ref
    spec: specs.ModelSpec
    provider: ProviderEntry
    aliases: tuple[str, ...] = ()  # the aliases served: the spec's, less those another name owns

    @property
    def routable(self) -> bool:
        return self.spec.enabled and self.provider.routable


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyEntry:
    ref: Ref
    spec: specs.RoutingPolicySpec
    default: bool = False  # the namespace's default policy (the first by name among those that ask to be)


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
    problems: tuple[Problem, ...] = ()
    # Views later layers derive from this snapshot (the routing tables), compiled with it off the event loop.
    # This package cannot name their types; each layer stores and reads its own key.
    derived: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def routable_models(self) -> int:
        return sum(1 for m in self.models.values() if m.routable)

    def problems_of(self, ref: Ref) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.ref == ref)


EMPTY = ConfigSnapshot(0, {}, {}, {}, {}, {}, {})


class _Compiler:
    """One compile's problems, and the guard that keeps an unexpected error inside the object that raised it."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, ref: Ref, path: str, reason: str, message: str) -> None:
        self.problems.append(Problem(ref, path, reason, message))

    def guarded(self, ref: Ref, step: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``step(...)``, or None with ``ref`` listed as left out when it raises (a bug, never a rule)."""
        try:
            return step(*args, **kwargs)
        except Exception as exc:  # isolation: logged with its traceback, listed, object left out
            log.exception("compiling %s failed; it is left out of the configuration", ref)
            self.problem(ref, "", "CompileFailed", f"left out: compiling it raised {type(exc).__name__}: {exc}")
            return None

    def parse(self, ref: Ref, raw: Mapping[str, Any]) -> pydantic.BaseModel | None:
        spec_type = specs.SPEC_TYPES.get(ref.kind)
        if spec_type is None:
            self.problem(ref, "", "UnknownKind", "left out: unknown kind")
            return None
        try:
            return spec_type.model_validate(raw)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in ("spec", *first["loc"]))
            message = (
                f"left out: the stored spec does not validate ({exc.error_count()} error(s); "
                f"{where}: {str(first['msg']).removeprefix('Value error, ')})"
            )
            self.problem(ref, "", "InvalidSpec", message)
            return None

    def provider(
        self,
        ref: Ref,
        spec: specs.ProviderSpec,
        credentials: Mapping[Ref, bytes],
        unreadable: Mapping[Ref, str],
        policy: egress.Policy | None,
    ) -> ProviderEntry | None:
        if policy is not None:
            for url in spec.urls:
                refused = policy.host_refusal(urllib.parse.urlsplit(url).hostname or "")
                if refused is not None:
                    path = "spec.baseURL" if spec.base_url else "spec.endpoints"
                    self.problem(ref, path, "EgressDenied", f"left out: the URL's host is {refused}")
                    return None
        entry = self.credential(ref, spec, credentials.get(ref), unreadable.get(ref))
        if spec.ca_bundle_secret_ref is None or entry.unavailable_reason is not None:
            return entry
        return self.ca_bundle(entry, credentials.get(ca_bundles.ref_of(ref)), unreadable.get(ca_bundles.ref_of(ref)))

    def ca_bundle(self, entry: ProviderEntry, pem: bytes | None, unreadable: str | None) -> ProviderEntry:
        secret = entry.spec.ca_bundle_secret_ref
        assert secret is not None
        where = f"Secret {secret.name!r} key {secret.key!r}"
        if unreadable is not None:
            self.problem(entry.ref, "spec.caBundleSecretRef", "CABundleUnreadable", f"not routable: {unreadable}")
            return dataclasses.replace(entry, unavailable_reason=f"CA bundle cannot be opened: {unreadable}")
        if pem is None:
            return dataclasses.replace(entry, unavailable_reason=f"CA bundle unresolved: {where}")
        invalid = ca_bundles.invalid_reason(pem)
        if invalid is not None:
            message = f"not routable: the CA bundle in {where} {invalid}"
            self.problem(entry.ref, "spec.caBundleSecretRef", "CABundleInvalid", message)
            return dataclasses.replace(entry, unavailable_reason=f"CA bundle invalid: {where} {invalid}")
        return dataclasses.replace(entry, ca_bundle=pem.decode("ascii"))

    def credential(
        self, ref: Ref, spec: specs.ProviderSpec, plaintext: bytes | None, unreadable: str | None
    ) -> ProviderEntry:
        secret = spec.api_key_secret_ref
        if secret is None:
            return ProviderEntry(ref, spec, None)
        where = f"Secret {secret.name!r} key {secret.key!r}"
        if unreadable is not None:
            self.problem(ref, "spec.apiKeySecretRef", "CredentialUnreadable", f"not routable: {unreadable}")
            return ProviderEntry(ref, spec, None, f"credential cannot be opened: {unreadable}")
        if plaintext is None:
            return ProviderEntry(ref, spec, None, f"credentials unresolved: {where}")
        invalid = credentials_mod.invalid_reason(plaintext)
        if invalid is not None:
            self.problem(ref, "spec.apiKeySecretRef", "CredentialInvalid", f"not routable: the credential {invalid}")
            return ProviderEntry(ref, spec, None, f"credential invalid: {where} {invalid}")
        return ProviderEntry(ref, spec, credentials_mod.text(plaintext))


def compile_snapshot(
    revision: int,
    objects: Mapping[Ref, Mapping[str, Any]],
    credentials: Mapping[Ref, bytes],
    keys: Mapping[Ref, list[KeyRecord]],
    unreadable_credentials: Mapping[Ref, str] | None = None,
    *,
    egress_policy: egress.Policy | None = None,
) -> ConfigSnapshot:
    """Compile stored specs, credential plaintexts (bytes as a Secret holds them) and issued keys.

    ``unreadable_credentials`` names credentials the caller could not open (the reason), so that their providers
    are listed as not routable rather than silently missing a credential. With ``egress_policy``, a Provider whose
    URL names a host the policy refuses outright (a literal address, a denied name) is left out.
    """
    c = _Compiler()
    unreadable = unreadable_credentials or {}
    parsed: dict[Ref, pydantic.BaseModel] = {}
    for ref, raw in sorted(objects.items()):
        spec = c.guarded(ref, c.parse, ref, raw)
        if spec is not None:
            parsed[ref] = spec
    outcome = crosscheck.examine(list(parsed.items()), existing=objects.keys())
    c.problems.extend(outcome.findings)

    providers: dict[Ref, ProviderEntry] = {}
    for ref, spec in parsed.items():
        if isinstance(spec, specs.ProviderSpec):
            entry = c.guarded(ref, c.provider, ref, spec, credentials, unreadable, egress_policy)
            if entry is not None:
                providers[ref] = entry
    models: dict[Ref, ModelEntry] = {}
    names: dict[tuple[str, str], list[ModelEntry]] = {}
    for ref, spec in parsed.items():
        if not isinstance(spec, specs.ModelSpec) or ref in outcome.orphans:
            continue
        provider = providers.get(Ref("Provider", ref.namespace, spec.provider_ref))
        if provider is None:  # the Provider is stored but was left out itself
            c.problem(
                ref,
                "spec.providerRef",
                "ProviderNotFound",
                f"left out: Provider {spec.provider_ref!r} is left out itself",
            )
            continue
        shadowed = outcome.shadowed_aliases.get(ref, frozenset())
        model = ModelEntry(ref, spec, provider, tuple(a for a in spec.aliases if a not in shadowed))
        models[ref] = model
        for name in (ref.name, *model.aliases):
            names.setdefault((ref.namespace, name), []).append(model)
    policies = {
        ref: PolicyEntry(ref, spec, outcome.defaults.get(ref.namespace) == ref)
        for ref, spec in parsed.items()
        if isinstance(spec, specs.RoutingPolicySpec)
    }
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
        problems=tuple(c.problems),
    )


def with_derived(snap: ConfigSnapshot, key: str, view: object, problems: Iterable[Problem] = ()) -> ConfigSnapshot:
    """The same snapshot carrying ``view`` under ``key``, and listing the ``problems`` found deriving it."""
    return dataclasses.replace(snap, problems=(*snap.problems, *problems), derived={**snap.derived, key: view})


def problems_for(
    ref: Ref,
    spec: Mapping[str, Any],
    stored: Mapping[Ref, Mapping[str, Any]],
    egress_policy: egress.Policy | None = None,
) -> tuple[Problem, ...]:
    """What the gateways' compile would report about ``ref`` with ``spec`` among the ``stored`` objects.

    The operator calls this for the object it reconciles, so its ``Ready`` condition says what every gateway
    will do with it. Credentials are judged where they are read (a Secret), not here.
    """
    return compile_snapshot(0, {**stored, ref: spec}, {}, {}, egress_policy=egress_policy).problems_of(ref)
