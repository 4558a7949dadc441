"""Kubernetes objects into the store through the same functions ``tokenhub apply`` uses.

One object per call: its spec is validated by ``gateway.config.parsing`` (the CRD schema already did most of
it), compared by hash with the stored row and written in one transaction that bumps ``config_revision`` only
when something changed - so resuming after a restart, or the periodic resync, writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gateway.config import ca_bundles, documents, parsing, reconcile, snapshot
from gateway.store import config_repo
from tokenhub_operator import errors

OWNER = "operator"


@dataclasses.dataclass(frozen=True)
class Context:
    """What handlers share, built at startup and kept in Kopf's memo."""

    database_url: str
    cipher: config_repo.CredentialCipher
    kube: Any  # kube.Kube; typed loosely so pure tests can pass a fake
    settings: Any  # settings.OperatorSettings


def document(body: Mapping[str, Any]) -> documents.Document:
    """The validated document of a Kopf body, or ``SpecInvalid`` listing every problem."""
    meta = body["metadata"]
    namespace = meta.get("namespace") or parsing.DEFAULT_NAMESPACE
    raw = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {"name": meta["name"], "namespace": namespace, "generation": meta.get("generation")},
        "spec": dict(body.get("spec") or {}),
    }
    source = documents.Source(f"{body.get('kind')}/{namespace}/{meta['name']}")
    result = parsing.parse_object(raw, source)
    if isinstance(result, documents.Document):
        return result
    raise errors.SpecInvalid("; ".join(f"{p.path}: {p.message}" for p in result))


def document_ref(body: Mapping[str, Any]) -> documents.ObjectRef:
    meta = body["metadata"]
    return documents.ObjectRef(str(body["kind"]), meta.get("namespace") or parsing.DEFAULT_NAMESPACE, meta["name"])


async def store(
    ctx: Context,
    doc: documents.Document,
    *,
    credential: bytes | None = None,
    manage_credential: bool = False,
    ca_bundle: bytes | None = None,
) -> config_repo.ApplyResult:
    """Write the object; with ``manage_credential``, its credential and CA bundle as given (None: none stored)."""
    desired = reconcile.DesiredObject.of(doc)
    bundle_ref = ca_bundles.ref_of(doc.ref)

    def planner(current: config_repo.CurrentState) -> reconcile.ChangeSet:
        stored = {doc.ref: current.objects[doc.ref]} if doc.ref in current.objects else {}
        changes = reconcile.plan([desired], stored, owner=OWNER, prune=False)
        if not manage_credential:
            return changes
        given = {doc.ref: credential, bundle_ref: ca_bundle}
        wanted = {ref: value for ref, value in given.items() if value is not None}
        have = {ref: current.credentials[ref] for ref in given if ref in current.credentials}
        return reconcile.with_credentials(changes, reconcile.plan_credentials(wanted, have))

    return await config_repo.apply(ctx.database_url, planner, owner=OWNER, cipher=ctx.cipher)


async def remove(ctx: Context, ref: documents.ObjectRef) -> config_repo.ApplyResult:
    def planner(current: config_repo.CurrentState) -> reconcile.ChangeSet:
        return reconcile.ChangeSet(deletes=(ref,)) if ref in current.objects else reconcile.ChangeSet()

    return await config_repo.apply(ctx.database_url, planner, owner=OWNER, cipher=ctx.cipher)


async def compile_problems(ctx: Context, doc: documents.Document) -> tuple[documents.Finding, ...]:
    """What every gateway's compile reports about ``doc`` among the objects stored in its namespace."""
    stored = await config_repo.namespace_specs(ctx.database_url, doc.ref.namespace)
    return snapshot.problems_for(doc.ref, doc.spec_json(), stored, ctx.settings.egress_policy)
