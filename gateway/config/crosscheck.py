"""Checks that span documents: references resolve, names are unique, aliases do not collide.

In a cluster the API server guarantees unique names and the operator reports dangling references as a False
``Ready`` condition; for a folder of manifests these checks run before anything is written, so a broken folder
never reaches the store.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from gateway.config import documents, specs


def check(docs: Iterable[documents.Document]) -> list[documents.Problem]:
    docs = list(docs)
    problems: list[documents.Problem] = []

    def problem(doc: documents.Document, path: str, message: str) -> None:
        label = f"{doc.ref.kind}/{doc.ref.name}"
        problems.append(documents.Problem(doc.source, label, path, message))

    seen: dict[documents.ObjectRef, documents.Document] = {}
    for doc in docs:
        first = seen.get(doc.ref)
        if first is not None:
            problem(
                doc,
                "metadata.name",
                f"duplicate {doc.ref.kind} {doc.ref.name!r} (first defined at {first.source})",
            )
        else:
            seen[doc.ref] = doc

    def exists(kind: str, namespace: str, name: str) -> bool:
        return documents.ObjectRef(kind, namespace, name) in seen

    # Client-visible model names per namespace: model names and model aliases share one space.
    owners: dict[tuple[str, str], str] = {}
    for doc in docs:
        if isinstance(doc.spec, specs.ModelSpec):
            owners.setdefault((doc.ref.namespace, doc.ref.name), f"Model {doc.ref.name!r}")
    for doc in docs:
        if not isinstance(doc.spec, specs.ModelSpec):
            continue
        ns = doc.ref.namespace
        if not exists("Provider", ns, doc.spec.provider_ref):
            problem(
                doc,
                "spec.providerRef",
                f"Provider {doc.spec.provider_ref!r} does not exist in namespace {ns!r}",
            )
        for i, alias in enumerate(doc.spec.aliases):
            owner = owners.get((ns, alias))
            if owner is not None:
                problem(doc, f"spec.aliases[{i}]", f"alias {alias!r} collides with {owner}")
            else:
                owners[(ns, alias)] = f"an alias of Model {doc.ref.name!r}"

    defaults: collections.Counter[str] = collections.Counter()
    for doc in docs:
        if not isinstance(doc.spec, specs.RoutingPolicySpec):
            continue
        ns = doc.ref.namespace
        if doc.spec.default:
            defaults[ns] += 1
            if defaults[ns] == 2:
                problem(doc, "spec.default", f"more than one default RoutingPolicy in namespace {ns!r}")
        known = {name for (owner_ns, name) in owners if owner_ns == ns}
        for i, fallback in enumerate(doc.spec.fallbacks):
            for j, target in enumerate([fallback.model, *fallback.to]):
                if target not in known:
                    path = f"spec.fallbacks[{i}]." + ("model" if j == 0 else f"to[{j - 1}]")
                    problem(doc, path, f"unknown model {target!r}")
        for i, policy_alias in enumerate(doc.spec.aliases):
            if (ns, policy_alias.name) in owners:
                problem(
                    doc,
                    f"spec.aliases[{i}].name",
                    f"alias {policy_alias.name!r} collides with {owners[(ns, policy_alias.name)]}",
                )
            for j, variant in enumerate(policy_alias.variants):
                if variant.model not in known:
                    problem(doc, f"spec.aliases[{i}].variants[{j}].model", f"unknown model {variant.model!r}")

    for doc in docs:
        if (
            isinstance(doc.spec, specs.ApiKeySpec)
            and doc.spec.routing_policy_ref is not None
            and not exists("RoutingPolicy", doc.ref.namespace, doc.spec.routing_policy_ref)
        ):
            problem(doc, "spec.routingPolicyRef", f"RoutingPolicy {doc.spec.routing_policy_ref!r} does not exist")
    return problems
