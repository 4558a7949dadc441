"""Which Secrets the operator may touch: pure rules, so the Kubernetes glue cannot drift from them.

A tenant who may create ApiKeys and Providers in a namespace must not reach, through the operator, a Secret it
cannot read itself. So the operator writes or deletes a key Secret only when it carries the managed-by label *and*
an ownerReference to that very ApiKey (uid, not name: a recreated ApiKey of the same name is another owner), and
seals a Provider credential only from a Secret that opted in: by the ``tokenhub.io/provider-credential: "true"``
label (any Provider of its namespace), or by the ``tokenhub.io/allowed-providers`` annotation naming the Providers
allowed (which, when present, is the whole list, label or not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "tokenhub-operator"
PROVIDER_CREDENTIAL_LABEL = "tokenhub.io/provider-credential"
ALLOWED_PROVIDERS_ANNOTATION = "tokenhub.io/allowed-providers"
# Server-side selector of the operator's Secret watch: it is never sent a Secret that did not opt in this way.
WATCH_SELECTOR = f"{PROVIDER_CREDENTIAL_LABEL}=true"


def owns_key_secret(
    labels: Mapping[str, str] | None, owner_references: Iterable[Mapping[str, Any]] | None, apikey_uid: str
) -> bool:
    """Whether an existing Secret is the key Secret the operator issued for the ApiKey with ``apikey_uid``."""
    if (labels or {}).get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False
    return any(
        ref.get("kind") == "ApiKey" and ref.get("uid") == apikey_uid and bool(apikey_uid)
        for ref in owner_references or ()
    )


def allowed_providers(annotations: Mapping[str, str] | None) -> frozenset[str] | None:
    """The Provider names the annotation allows, or ``None`` when the Secret has no such annotation."""
    raw = (annotations or {}).get(ALLOWED_PROVIDERS_ANNOTATION)
    if raw is None:
        return None
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def provider_may_use(labels: Mapping[str, str] | None, annotations: Mapping[str, str] | None, provider: str) -> bool:
    """Whether the Provider named ``provider`` (of the Secret's namespace) may have this Secret sealed."""
    allowed = allowed_providers(annotations)
    if allowed is not None:
        return provider in allowed
    return (labels or {}).get(PROVIDER_CREDENTIAL_LABEL) == "true"


def refusal(secret: str, provider: str, annotations: Mapping[str, str] | None) -> str:
    """What ``CredentialsResolved=False`` says when a Secret did not opt in for ``provider``."""
    allowed = allowed_providers(annotations)
    if allowed is not None:
        names = ", ".join(sorted(allowed)) or "no Provider"
        return (
            f"Secret {secret!r} allows only {names} (annotation {ALLOWED_PROVIDERS_ANNOTATION}),"
            f" not Provider {provider!r}"
        )
    return (
        f"Secret {secret!r} has not opted in as a provider credential: label it"
        f" {PROVIDER_CREDENTIAL_LABEL}=true or annotate it {ALLOWED_PROVIDERS_ANNOTATION}={provider}"
    )


def key_secret_conflict(secret: str, apikey: str) -> str:
    """What ``Issued=False`` says when the Secret an ApiKey names belongs to something else."""
    return (
        f"Secret {secret!r} exists and is not managed by TokenHub for ApiKey {apikey!r}"
        f" (it lacks the {MANAGED_BY_LABEL}={MANAGED_BY} label or an ownerReference to this ApiKey);"
        " it was left untouched: choose another spec.secretName or delete that Secret"
    )
