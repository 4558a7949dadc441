"""ApiKey: store the spec, issue the key into a Secret owned by the ApiKey, rotate on request.

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
from tokenhub_operator import errors, reconciler, status
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
    try:
        doc = reconciler.document(body)
        assert isinstance(doc.spec, specs.ApiKeySpec)
        await reconciler.store(ctx, doc)
        target = secret_name(doc.ref.name, doc.spec)
        active = await keys_repo.active_key_ids(ctx.database_url, doc.ref)
        held = await ctx.kube.key_secret_id(doc.ref.namespace, target)
        rotate_token = (meta.get("annotations") or {}).get(ROTATE_ANNOTATION)
        rotation_requested = bool(rotate_token) and rotate_token != current.get("rotationHandled")
        now = common.now()
        must_issue = held not in active or rotation_requested or _rotation_due(doc.spec, current.get("issuedAt"), now)
        key_id, issued_at = held, current.get("issuedAt")
        if must_issue:
            issued = keys.generate()
            owner = {"name": meta["name"], "uid": meta["uid"]}
            await ctx.kube.write_key_secret(doc.ref.namespace, target, issued.public_id, issued.full_key, owner)
            if active:
                grace = dt.timedelta(seconds=ctx.settings.key_rotation_grace_s)
                await keys_repo.retire(ctx.database_url, doc.ref, grace)
            await keys_repo.issue(ctx.database_url, doc.ref, issued)
            key_id, issued_at = issued.public_id, now.strftime("%Y-%m-%dT%H:%M:%SZ")
        spend = await leases_repo.spend_this_month(ctx.database_url, doc.ref.namespace, doc.ref.name, now)
        compiled = status.compiled(await reconciler.compile_problems(ctx, doc))
    except (errors.SpecInvalid, store_errors.StoreError) as exc:
        raise common.fail(patch_status, body, exc, ctx.settings.temporary_delay_s) from exc
    conditions = [
        status.Condition("Stored", True, "Stored", "in the configuration store"),
        status.Condition("Issued", True, "Issued", f"key {key_id} is in Secret {target!r}"),
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
        rotationHandled=rotate_token or current.get("rotationHandled"),
        spendUSD=float(spend),
    )
    if compiled.status is not True:  # retried: the RoutingPolicy it names may be stored later
        raise errors.to_kopf(errors.WaitingFor(compiled.message), ctx.settings.temporary_delay_s)


@kopf.on.resume(common.GROUP, common.VERSION, PLURAL)
@kopf.on.create(common.GROUP, common.VERSION, PLURAL)
@kopf.on.update(common.GROUP, common.VERSION, PLURAL)
async def apikey_changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    await reconcile(common.context(memo), body, patch.status)


@kopf.timer(common.GROUP, common.VERSION, PLURAL, interval=300, initial_delay=60, idle=30)
async def apikey_resync(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Repair drift (a deleted key Secret is issued again) and rotate keys whose rotationDays elapsed."""
    await reconcile(common.context(memo), body, patch.status)


@kopf.on.delete(common.GROUP, common.VERSION, PLURAL)
async def apikey_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    ctx = await common.remove(memo, body)
    ref = reconciler.document_ref(body)
    spec = body.get("spec") or {}
    await ctx.kube.delete_secret(ref.namespace, spec.get("secretName") or f"{ref.name}-key")
