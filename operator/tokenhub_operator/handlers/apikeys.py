"""ApiKey: store the spec, issue the key into a Secret owned by the ApiKey, rotate on request.

The operator writes and deletes only a Secret it owns (``ownership.owns_key_secret``): ``spec.secretName`` naming
any other Secret of the namespace gets ``Issued=False`` with reason ``SecretConflict`` and the Secret is left as it
is - a tenant cannot use its ApiKeys to overwrite or delete Secrets it could not touch itself.

Issuing writes the Secret *before* storing the key's hash: a crash in between leaves a Secret whose key is not
stored yet, which the next pass detects (the Secret's key id is not an active key) and repairs by issuing
again - never a stored key that nobody holds. Rotation (a new value of the ``tokenhub.io/rotate`` annotation, or
``rotationDays`` elapsed) issues a new key and keeps the previous one valid for the operator's grace period.
The key itself is never logged and never written to status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import kopf

from gateway import keys
from gateway.config import specs
from gateway.store import errors as store_errors
from gateway.store import keys_repo, leases_repo
from tokenhub_operator import errors, ownership, reconciler, status
from tokenhub_operator.handlers import common

PLURAL = "apikeys"
ROTATE_ANNOTATION = "tokenhub.io/rotate"


def secret_name(name: str, spec: specs.ApiKeySpec) -> str:
    return spec.secret_name or f"{name}-key"


def _rotation_due(spec: specs.ApiKeySpec, issued_at: str | None, now: dt.datetime) -> bool:
    if spec.rotation_days is None or not issued_at:
        return False
    issued = dt.datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
    return now >= issued + dt.timedelta(days=spec.rotation_days)


async def reconcile(ctx: reconciler.Context, body: Mapping[str, Any], patch_status: Any) -> None:
    meta = body["metadata"]
    current = body.get("status") or {}
    owner = {"name": meta["name"], "uid": meta.get("uid") or ""}
    try:
        doc = reconciler.document(body)
        assert isinstance(doc.spec, specs.ApiKeySpec)
        await reconciler.store(ctx, doc)
        target = secret_name(doc.ref.name, doc.spec)
        found = await ctx.kube.secret_meta(doc.ref.namespace, target)
        conflict = found is not None and not ownership.owns_key_secret(
            found.labels, found.owner_references, owner["uid"]
        )
        key_id, issued_at = current.get("keyId"), current.get("issuedAt")
        rotate_token = (meta.get("annotations") or {}).get(ROTATE_ANNOTATION)
        now = common.now()
        if not conflict:
            active = await keys_repo.active_key_ids(ctx.database_url, doc.ref)
            held = found.key_id if found is not None else None
            rotation_requested = bool(rotate_token) and rotate_token != current.get("rotationHandled")
            due = _rotation_due(doc.spec, issued_at, now)
            key_id = held
            if held not in active or rotation_requested or due:
                issued = keys.generate()
                await ctx.kube.write_key_secret(
                    doc.ref.namespace, target, issued.public_id, issued.full_key, owner, found
                )
                if active:
                    grace = dt.timedelta(seconds=ctx.settings.key_rotation_grace_s)
                    await keys_repo.retire(ctx.database_url, doc.ref, grace)
                await keys_repo.issue(ctx.database_url, doc.ref, issued)
                key_id, issued_at = issued.public_id, now.strftime("%Y-%m-%dT%H:%M:%SZ")
        spend = await leases_repo.spend_this_month(ctx.database_url, doc.ref.namespace, doc.ref.name, now)
        compiled = status.compiled(await reconciler.compile_problems(ctx, doc))
    except (errors.SpecInvalid, errors.WaitingFor, store_errors.StoreError) as exc:
        raise common.fail(patch_status, body, exc, ctx.settings.temporary_delay_s) from exc
    if conflict:
        issued_condition = status.Condition(
            "Issued", False, "SecretConflict", ownership.key_secret_conflict(target, doc.ref.name)
        )
    else:
        issued_condition = status.Condition("Issued", True, "Issued", f"key {key_id} is in Secret {target!r}")
    conditions = [
        status.Condition("Stored", True, "Stored", "in the configuration store"),
        issued_condition,
        compiled,
    ]
    if doc.spec.disabled:
        conditions.append(status.Condition("Enabled", False, "Disabled", "spec.disabled is true"))
    common.write_status(
        patch_status,
        body,
        conditions,
        keyId=key_id,
        keyPrefix=f"{keys.keyformat.PREFIX}_{key_id}_…" if key_id else None,
        issuedAt=issued_at,
        secretName=target,
        rotationHandled=(rotate_token if not conflict else None) or current.get("rotationHandled"),
        spendUSD=float(spend),
    )
    waiting = issued_condition if conflict else compiled
    if waiting.status is not True:  # retried: the Secret may be removed, the RoutingPolicy stored later
        raise errors.to_kopf(errors.WaitingFor(waiting.message), ctx.settings.temporary_delay_s)


@kopf.on.resume(common.GROUP, common.VERSION, PLURAL)
@kopf.on.create(common.GROUP, common.VERSION, PLURAL)
@kopf.on.update(common.GROUP, common.VERSION, PLURAL)
async def apikey_changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    await reconcile(common.context(memo), body, patch.status)


@kopf.timer(common.GROUP, common.VERSION, PLURAL, interval=300, initial_delay=60, idle=30)
async def apikey_resync(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Repair drift (a deleted key Secret is issued again) and rotate keys whose rotationDays elapsed."""
    await reconcile(common.context(memo), body, patch.status)


async def remove_key_secret(ctx: reconciler.Context, body: Mapping[str, Any]) -> bool:
    """Delete the ApiKey's key Secret if the operator owns it; whether it did. Secrets of earlier ``secretName``s
    carry an ownerReference too, so Kubernetes' garbage collector removes them with the ApiKey."""
    ref = reconciler.document_ref(body)
    name = (body.get("spec") or {}).get("secretName") or f"{ref.name}-key"
    found = await ctx.kube.secret_meta(ref.namespace, name)
    if found is None:
        return False
    if not ownership.owns_key_secret(found.labels, found.owner_references, body["metadata"].get("uid") or ""):
        return False
    try:
        await ctx.kube.delete_owned_secret(ref.namespace, name, found)
    except errors.WaitingFor as exc:
        raise errors.to_kopf(exc, ctx.settings.temporary_delay_s) from exc
    return True


@kopf.on.delete(common.GROUP, common.VERSION, PLURAL)
async def apikey_deleted(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    ctx = await common.remove(memo, body)
    if not await remove_key_secret(ctx, body):
        logger.info("no key Secret of this ApiKey to delete (absent, or not owned by it: left in place)")
