"""Model: store the spec; ``Ready`` only once its Provider is stored too (else retried with backoff)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from gateway.config import documents, specs
from gateway.store import config_repo
from gateway.store import errors as store_errors
from tokenhub_operator import errors, reconciler, status
from tokenhub_operator.handlers import common

PLURAL = "models"


async def reconcile(ctx: reconciler.Context, body: Mapping[str, Any], patch_status: Any) -> None:
    try:
        doc = reconciler.document(body)
        assert isinstance(doc.spec, specs.ModelSpec)
        await reconciler.store(ctx, doc)
        provider = documents.ObjectRef("Provider", doc.ref.namespace, doc.spec.provider_ref)
        provider_known = await config_repo.object_exists(ctx.database_url, provider)
    except (errors.SpecInvalid, store_errors.StoreError) as exc:
        raise common.fail(patch_status, body, exc, ctx.settings.temporary_delay_s) from exc
    stored = status.Condition("Stored", True, "Stored", "in the configuration store")
    if provider_known:
        found = status.Condition("ProviderFound", True, "ProviderFound", f"Provider {provider.name!r} is stored")
    else:
        message = f"Provider {provider.name!r} does not exist in namespace {provider.namespace!r}"
        found = status.Condition("ProviderFound", False, "ProviderNotFound", message)
    common.write_status(patch_status, body, [stored, found])
    if not provider_known:
        raise errors.to_kopf(errors.WaitingFor(found.message), ctx.settings.temporary_delay_s)


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
