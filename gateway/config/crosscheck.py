"""Checks that span objects: references resolve, names are unique, aliases do not collide.

One examination serves three callers. ``tokenhub validate``/``apply`` refuse a folder with any finding, so a
broken folder never reaches the store. The snapshot compile runs the same examination over whatever the store
holds (objects from several owners may still disagree) and applies its outcome object by object: a Model whose
Provider is missing is left out, an alias another name owns is not served, a second default policy is not the
default - never the whole configuration. The operator reports the findings of the object it reconciles.
Objects are examined in the order given; the snapshot gives them sorted, so the first by name wins a conflict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence

import pydantic

from gateway.config import documents, specs

Ref = documents.ObjectRef


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    findings: tuple[documents.Finding, ...]
    orphans: frozenset[Ref]  # Models whose Provider does not exist: left out
    shadowed_aliases: Mapping[Ref, frozenset[str]]  # Model aliases that another name owns: not served
    defaults: Mapping[str, Ref]  # namespace -> its one default RoutingPolicy


def examine(objects: Sequence[tuple[Ref, pydantic.BaseModel]], existing: Collection[Ref] = ()) -> Outcome:
    """Every cross-object finding among ``objects`` (at most one object per ref) and what it takes out.

    A reference to one of ``existing`` (stored, but not among ``objects`` because it does not compile) is not
    reported here: that object's own problem says why it is missing.
    """
    findings: list[documents.Finding] = []
    refs = {ref for ref, _ in objects} | set(existing)
    models = [(ref, spec) for ref, spec in objects if isinstance(spec, specs.ModelSpec)]
    policies = [(ref, spec) for ref, spec in objects if isinstance(spec, specs.RoutingPolicySpec)]

    # Client-visible model names per namespace: model names and model aliases share one space.
    owners = {(ref.namespace, ref.name): f"Model {ref.name!r}" for ref, _ in models}
    orphans: set[Ref] = set()
    shadowed: dict[Ref, frozenset[str]] = {}
    for ref, model in models:
        ns = ref.namespace
        if Ref("Provider", ns, model.provider_ref) not in refs:
            orphans.add(ref)
            message = f"Provider {model.provider_ref!r} does not exist in namespace {ns!r}"
            findings.append(documents.Finding(ref, "spec.providerRef", "ProviderNotFound", message))
        lost = set()
        for i, alias in enumerate(model.aliases):
            owner = owners.get((ns, alias))
            if owner is not None:
                lost.add(alias)
                message = f"alias {alias!r} collides with {owner}"
                findings.append(documents.Finding(ref, f"spec.aliases[{i}]", "AliasConflict", message))
            else:
                owners[(ns, alias)] = f"an alias of Model {ref.name!r}"
        if lost:
            shadowed[ref] = frozenset(lost)

    defaults: dict[str, Ref] = {}
    for ref, policy in policies:
        ns = ref.namespace
        if policy.default:
            first = defaults.setdefault(ns, ref)
            if first != ref:
                message = f"more than one default RoutingPolicy in namespace {ns!r}; {first.name!r} is the default"
                findings.append(documents.Finding(ref, "spec.default", "DuplicateDefault", message))
        for i, fallback in enumerate(policy.fallbacks):
            for j, target in enumerate([fallback.model, *fallback.to]):
                if (ns, target) not in owners:
                    path = f"spec.fallbacks[{i}]." + ("model" if j == 0 else f"to[{j - 1}]")
                    findings.append(documents.Finding(ref, path, "ModelNotFound", f"unknown model {target!r}"))
        for i, policy_alias in enumerate(policy.aliases):
            owner = owners.get((ns, policy_alias.name))
            if owner is not None:
                message = f"alias {policy_alias.name!r} collides with {owner}"
                findings.append(documents.Finding(ref, f"spec.aliases[{i}].name", "AliasConflict", message))
            for j, variant in enumerate(policy_alias.variants):
                if (ns, variant.model) not in owners:
                    path = f"spec.aliases[{i}].variants[{j}].model"
                    findings.append(documents.Finding(ref, path, "ModelNotFound", f"unknown model {variant.model!r}"))

    for ref, spec in objects:
        if (
            isinstance(spec, specs.ApiKeySpec)
            and spec.routing_policy_ref is not None
            and Ref("RoutingPolicy", ref.namespace, spec.routing_policy_ref) not in refs
        ):
            message = f"RoutingPolicy {spec.routing_policy_ref!r} does not exist"
            findings.append(documents.Finding(ref, "spec.routingPolicyRef", "PolicyNotFound", message))
    return Outcome(tuple(findings), frozenset(orphans), shadowed, defaults)


def check(docs: Iterable[documents.Document]) -> list[documents.Problem]:
    """Every cross-document problem of a folder: duplicates, then the examination's findings."""
    problems: list[documents.Problem] = []
    first: dict[Ref, documents.Document] = {}
    for doc in docs:
        seen = first.setdefault(doc.ref, doc)
        if seen is not doc:
            message = f"duplicate {doc.ref.kind} {doc.ref.name!r} (first defined at {seen.source})"
            problems.append(documents.Problem(doc.source, f"{doc.ref.kind}/{doc.ref.name}", "metadata.name", message))
    outcome = examine([(ref, doc.spec) for ref, doc in first.items()])
    for finding in outcome.findings:
        doc = first[finding.ref]
        problems.append(documents.Problem(doc.source, f"{doc.ref.kind}/{doc.ref.name}", finding.path, finding.message))
    return problems
