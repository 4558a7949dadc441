"""Which models may answer a request, in the order to try them.

Resolution happens in the key's namespace: the requested name is a Model's name or alias, or an alias of the
key's RoutingPolicy (variants by descending weight); the policy's fallback chain for each resolved model
follows. ``provider/model`` spellings resolve to ``model`` when only that exists. Models the key may not use
are left out, and a name that resolves to nothing is a 404 naming it.
"""

from __future__ import annotations

import dataclasses

from gateway.config import snapshot, specs
from gateway.serving import auth, errors


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    model: snapshot.ModelEntry
    reason: str


def policy_for(snap: snapshot.ConfigSnapshot, key: auth.KeyContext) -> specs.RoutingPolicySpec | None:
    if key.spec.routing_policy_ref is not None:
        entry = snap.policies.get(snapshot.Ref("RoutingPolicy", key.namespace, key.spec.routing_policy_ref))
        return entry.spec if entry else None
    for ref, entry in snap.policies.items():
        if ref.namespace == key.namespace and entry.spec.default:
            return entry.spec
    return None


def _lookup(snap: snapshot.ConfigSnapshot, namespace: str, name: str) -> tuple[snapshot.ModelEntry, ...]:
    found = snap.model_names.get((namespace, name))
    if found is None and "/" in name:
        found = snap.model_names.get((namespace, name.split("/", 1)[1]))
    return found or ()


def candidates(
    snap: snapshot.ConfigSnapshot, key: auth.KeyContext, requested: str, capability: specs.Capability
) -> list[Candidate]:
    policy = policy_for(snap, key)
    ns = key.namespace
    ordered: list[Candidate] = []
    alias = next((a for a in policy.aliases if a.name == requested), None) if policy else None
    if alias is not None:
        for variant in sorted(alias.variants, key=lambda v: -v.weight):
            ordered.extend(Candidate(m, f"alias:{alias.name}") for m in _lookup(snap, ns, variant.model))
    else:
        ordered.extend(Candidate(m, "requested") for m in _lookup(snap, ns, requested))
    if not ordered:
        raise errors.ModelNotFound(f"the model {requested!r} does not exist", param="model", code="model_not_found")
    if policy is not None:
        chains = {f.model: f.to for f in policy.fallbacks}
        for candidate in list(ordered):
            for target in chains.get(candidate.model.ref.name, ()):
                ordered.extend(Candidate(m, f"fallback:{candidate.model.ref.name}") for m in _lookup(snap, ns, target))
    seen: set[snapshot.Ref] = set()
    result: list[Candidate] = []
    for candidate in ordered:
        model = candidate.model
        if model.ref in seen or not key.allows_model(model.ref.name):
            continue
        seen.add(model.ref)
        if capability in model.spec.capabilities and model.spec.enabled:
            result.append(candidate)
    if not result:
        if not any(key.allows_model(c.model.ref.name) for c in ordered):
            raise errors.Forbidden(f"this API key may not use the model {requested!r}")
        raise errors.InvalidRequest(f"no enabled model behind {requested!r} supports {capability.value}", param="model")
    return result
