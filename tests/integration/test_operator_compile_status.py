"""The operator's status says what every gateway will do with a resource: Ready=False with the compile's reason.

The handlers run against a real Postgres; Kubernetes is the operator's own ``kube`` seam, faked with the Secrets a
test puts in it. Validation happens in the CRD and in ``parsing``; what remains are cross-object problems (an
alias another model owns, a fallback naming no model, a missing Provider) and a Secret's bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import kopf
import psycopg
import pytest

from gateway.store import vault_repo
from gateway.vault import KdfParams
from tokenhub_operator import kube, ownership, reconciler, settings
from tokenhub_operator.handlers import models, policies, providers

PASSWORD = "operator test vault password"


@dataclasses.dataclass
class FakeKube:
    """The Secrets of a namespace, as ``kube.Kube.read_secret_key`` reads them (each opted in as a credential)."""

    secrets: dict[tuple[str, str], dict[str, bytes]] = dataclasses.field(default_factory=dict)

    async def read_secret_key(self, namespace: str, name: str, key: str) -> kube.SecretValue | None:
        found = self.secrets.get((namespace, name))
        opted_in = {ownership.PROVIDER_CREDENTIAL_LABEL: "true"}
        return None if found is None else kube.SecretValue(found.get(key), "1", opted_in)


@pytest.fixture
async def ctx(database_url: str) -> reconciler.Context:
    cipher = await vault_repo.open_or_create(database_url, PASSWORD, KdfParams.fast_for_tests())
    return reconciler.Context(
        database_url, cipher, FakeKube(), settings.OperatorSettings(database_url, PASSWORD, temporary_delay_s=1.0)
    )


def body(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "team", "generation": 1, "uid": f"uid-{name}"}
    return {"apiVersion": "tokenhub.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


def condition(written: dict[str, Any], kind: str) -> tuple[str, str, str]:
    (found,) = [c for c in written["conditions"] if c["type"] == kind]
    return found["status"], found["reason"], found["message"]


LOCAL = {"type": "openai-compatible", "baseURL": "http://127.0.0.1:1/v1"}


async def test_a_model_whose_alias_another_model_owns_is_stored_but_not_ready(ctx: reconciler.Context) -> None:
    await providers.reconcile(ctx, body("Provider", "local", LOCAL), {})
    await models.reconcile(
        ctx, body("Model", "a", {"providerRef": "local", "upstreamModel": "x", "aliases": ["fast"]}), {}
    )
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await models.reconcile(
            ctx, body("Model", "b", {"providerRef": "local", "upstreamModel": "y", "aliases": ["fast"]}), written
        )
    assert condition(written, "Ready") == (
        "False",
        "AliasConflict",
        "spec.aliases[0]: alias 'fast' collides with an alias of Model 'a'",
    )
    assert condition(written, "Stored")[0] == "True"


async def test_a_model_without_its_provider_waits_with_the_reason(ctx: reconciler.Context) -> None:
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await models.reconcile(ctx, body("Model", "orphan", {"providerRef": "ghost", "upstreamModel": "x"}), written)
    assert condition(written, "Ready")[:2] == ("False", "ProviderNotFound")


async def test_a_policy_becomes_ready_once_the_model_its_fallback_names_is_stored(ctx: reconciler.Context) -> None:
    await providers.reconcile(ctx, body("Provider", "local", LOCAL), {})
    await models.reconcile(ctx, body("Model", "a", {"providerRef": "local", "upstreamModel": "x"}), {})
    policy = body("RoutingPolicy", "default", {"fallbacks": [{"model": "a", "to": ["b"]}]})
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await policies.reconcile(ctx, policy, written)
    assert condition(written, "Compiled") == ("False", "ModelNotFound", "spec.fallbacks[0].to[0]: unknown model 'b'")
    assert condition(written, "Ready")[:2] == ("False", "ModelNotFound")

    await models.reconcile(ctx, body("Model", "b", {"providerRef": "local", "upstreamModel": "y"}), {})
    again: dict[str, Any] = {}
    await policies.reconcile(ctx, policy, again)
    assert condition(again, "Ready")[:2] == ("True", "Reconciled")


async def test_a_secret_that_is_not_text_is_never_sealed(ctx: reconciler.Context) -> None:
    assert isinstance(ctx.kube, FakeKube)
    ctx.kube.secrets[("team", "creds")] = {"apiKey": b"\xff\xfesk-not-text"}
    spec = {**LOCAL, "type": "openai", "apiKeySecretRef": {"name": "creds"}}
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await providers.reconcile(ctx, body("Provider", "openai", spec), written)
    assert condition(written, "Ready") == (
        "False",
        "CredentialInvalid",
        "Secret 'creds' key 'apiKey' is not ASCII text (byte 0xff at offset 0)",
    )
    async with await psycopg.AsyncConnection.connect(ctx.database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM credentials")
        assert await cur.fetchone() == (0,)
