"""Model: store the spec; ``Ready`` only once the gateways serve it as written (else retried with backoff).

Until its Provider is stored the reason is ``ProviderNotFound``; an alias another model owns is ``AliasConflict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from gateway.store import errors as store_errors
from tokenhub_operator import errors, reconciler, status
from tokenhub_operator.handlers import common

PLURAL = "models"


async def reconcile(ctx: reconciler.Context, body: Mapping[str, Any], patch_status: Any) -> None:
    try:
        doc = reconciler.document(body)
        await reconciler.store(ctx, doc)
        problems = await reconciler.compile_problems(ctx, doc)
    except (errors.SpecInvalid, store_errors.StoreError) as exc:
        raise common.fail(patch_status, body, exc, ctx.settings.temporary_delay_s) from exc
    stored = status.Condition("Stored", True, "Stored", "in the configuration store")
    common.settle(ctx, patch_status, body, [stored, status.compiled(problems)])


@kopf.on.resume(common.GROUP, common.VERSION, PLURAL)
@kopf.on.create(common.GROUP, common.VERSION, PLURAL)
@kopf.on.update(common.GROUP, common.VERSION, PLURAL)
async def model_changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    await reconcile(common.context(memo), body, patch.status)


@kopf.timer(common.GROUP, common.VERSION, PLURAL, interval=300, initial_delay=300, idle=60)
async def model_resync(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    await reconcile(common.context(memo), body, patch.status)


@kopf.on.delete(common.GROUP, common.VERSION, PLURAL)
async def model_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await common.remove(memo, body)
