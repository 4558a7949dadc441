"""Provider: resolve the credential Secret, seal it, store the spec; re-seal when the Secret changes.

A Provider whose Secret (or key) is missing, or holds no usable credential (``config.credentials``: printable
ASCII, as it is sent in a header), is still stored - gateways list it as not routable - and reported
``CredentialsResolved=False`` with the reason, retried with backoff. Secret events reach the Providers that
reference them through a Kopf index, so a rotated credential is sealed again within seconds, not at the next
periodic resync.

A Provider reaches only a Secret that opted in (``ownership.provider_may_use``): any other Secret is reported
``CredentialsResolved=False`` with reason ``SecretNotOptedIn`` and is never sealed - otherwise a tenant who may
create Providers but not read Secrets could have any Secret of its namespace sent to a ``baseURL`` of its choice.
Only labelled Secrets are watched (server-side selector, set at startup); a Secret allowed by annotation alone is
picked up at the Provider's next reconcile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from gateway.config import credentials, specs
from gateway.store import errors as store_errors
from tokenhub_operator import errors, ownership, reconciler, status
from tokenhub_operator.handlers import common

PLURAL = "providers"


async def _credential(
    ctx: reconciler.Context, namespace: str, provider: str, spec: specs.ProviderSpec
) -> tuple[bytes | None, status.Condition, str | None]:
    ref = spec.api_key_secret_ref
    if ref is None:
        return None, status.Condition("CredentialsResolved", True, "NotRequired", "no apiKeySecretRef"), None
    found = await ctx.kube.read_secret_key(namespace, ref.name, ref.key)
    if found is None:
        message = f"Secret {ref.name!r} not found in namespace {namespace!r}"
        return None, status.Condition("CredentialsResolved", False, "SecretNotFound", message), None
    if not ownership.provider_may_use(found.labels, found.annotations, provider):
        message = ownership.refusal(ref.name, provider, found.annotations)
        return None, status.Condition("CredentialsResolved", False, "SecretNotOptedIn", message), None
    if found.value is None:
        message = f"Secret {ref.name!r} has no key {ref.key!r}"
        return None, status.Condition("CredentialsResolved", False, "KeyNotFound", message), None
    invalid = credentials.invalid_reason(found.value)
    if invalid is not None:  # never sealed: no gateway could send it
        message = f"Secret {ref.name!r} key {ref.key!r} {invalid}"
        return None, status.Condition("CredentialsResolved", False, "CredentialInvalid", message), None
    condition = status.Condition("CredentialsResolved", True, "Resolved", f"sealed from Secret {ref.name!r}")
    return found.value, condition, f"{ref.name}@{found.resource_version}"


async def reconcile(ctx: reconciler.Context, body: Mapping[str, Any], patch_status: Any) -> None:
    try:
        doc = reconciler.document(body)
        assert isinstance(doc.spec, specs.ProviderSpec)
        credential, resolved, fingerprint = await _credential(ctx, doc.ref.namespace, doc.ref.name, doc.spec)
        await reconciler.store(ctx, doc, credential=credential, manage_credential=True)
    except (errors.SpecInvalid, store_errors.StoreError) as exc:
        raise common.fail(patch_status, body, exc, ctx.settings.temporary_delay_s) from exc
    stored = status.Condition("Stored", True, "Stored", "in the configuration store")
    common.write_status(patch_status, body, [stored, resolved], credentialFingerprint=fingerprint)
    if resolved.status is not True:
        raise errors.to_kopf(errors.WaitingFor(resolved.message), ctx.settings.temporary_delay_s)


@kopf.on.resume(common.GROUP, common.VERSION, PLURAL)
@kopf.on.create(common.GROUP, common.VERSION, PLURAL)
@kopf.on.update(common.GROUP, common.VERSION, PLURAL)
async def provider_changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    await reconcile(common.context(memo), body, patch.status)


@kopf.timer(common.GROUP, common.VERSION, PLURAL, interval=300, initial_delay=300, idle=60)
async def provider_resync(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Repair drift: rows changed or lost behind the operator's back are written again."""
    await reconcile(common.context(memo), body, patch.status)


@kopf.on.delete(common.GROUP, common.VERSION, PLURAL)
async def provider_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await common.remove(memo, body)


@kopf.index(common.GROUP, common.VERSION, PLURAL)
def providers_by_secret(body: kopf.Body, namespace: str | None, **_: Any) -> dict[tuple[str, str], dict[str, Any]]:
    ref = (body.get("spec") or {}).get("apiKeySecretRef") or {}
    name = ref.get("name")
    return {(namespace or "default", name): dict(body)} if name else {}


# Only Secrets labelled ownership.WATCH_SELECTOR arrive here: the selector is applied by the API server (startup
# sets it), not filtered after the fact, so the operator never receives the others. No client-side label filter:
# a Secret whose label is removed arrives once more (as deleted from the selection) and must re-reconcile.
@kopf.on.event("", "v1", "secrets")
async def secret_changed(
    *, namespace: str | None, name: str, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    """Re-seal the credential of every Provider that references this Secret."""
    ctx = common.context(memo)
    index: kopf.Index[tuple[str, str], dict[str, Any]] = kwargs["providers_by_secret"]
    for provider in index.get((namespace or "default", name), []):
        written: dict[str, Any] = {}
        try:
            await reconcile(ctx, provider, written)
        except (kopf.TemporaryError, kopf.PermanentError) as exc:
            logger.info("Provider %s not ready after Secret %s changed: %s", provider["metadata"]["name"], name, exc)
        await ctx.kube.patch_status(PLURAL, provider["metadata"]["namespace"], provider["metadata"]["name"], written)
