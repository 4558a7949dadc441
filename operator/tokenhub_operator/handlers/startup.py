"""Operator startup: Kopf's settings, the schema, the vault, the Kubernetes client - kept in Kopf's memo.

Kopf's bookkeeping goes into ``tokenhub.io/`` annotations rather than ``status``: the CRDs' status schemas are
strict, and the API server would prune Kopf's own fields there. Secrets are watched through a server-side label
selector, and with ``TOKENHUB_WATCH_NAMESPACES`` every watch (Secrets included) is limited to those namespaces.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from gateway.store import migrate, vault_repo
from tokenhub_operator import kube, ownership, reconciler
from tokenhub_operator import settings as settings_mod

FINALIZER = "tokenhub.io/finalizer"


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    config = settings_mod.OperatorSettings.from_env()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="tokenhub.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="tokenhub.io")
    settings.posting.level = logging.WARNING
    settings.scanning.disabled = True
    settings.peering.priority = config.priority
    settings.peering.name = config.peering_name
    settings.peering.clusterwide = not config.namespaces
    settings.watching.server_timeout = 300
    # Secrets are watched by label only, filtered by the API server: the operator is never sent the others.
    settings.watching.label_selectors["", "v1", "secrets"] = ownership.WATCH_SELECTOR
    await migrate.ensure(config.database_url, config.migrate)
    cipher = await vault_repo.open_or_create(config.database_url, config.vault_password)
    memo.ctx = reconciler.Context(config.database_url, cipher, kube.Kube.from_environment(), config)
    logger.info("TokenHub operator ready (priority %d)", config.priority)
