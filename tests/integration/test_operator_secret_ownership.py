"""The operator writes and deletes only the Secrets it owns, and seals only credentials whose Secret opted in.

The handlers run against a real Postgres; Kubernetes is the operator's ``kube`` seam, faked as a dictionary of
Secrets (the real API server is in ``e2e/test_tenant_secrets.py``). The attacks: an ApiKey whose ``secretName``
names a Secret the tenant cannot read (overwrite it, or delete it with the ApiKey), and a Provider naming one
(have it sealed and sent to a ``baseURL`` of the tenant's choice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import kopf
import psycopg
import pytest

from gateway.store import vault_repo
from gateway.vault import KdfParams
from tokenhub_operator import errors, kube, ownership, reconciler, settings
from tokenhub_operator.handlers import apikeys, providers

PASSWORD = "operator test vault password"
NS = "team"
OPTED_IN = {ownership.PROVIDER_CREDENTIAL_LABEL: "true"}


@dataclasses.dataclass
class Secret:
    data: dict[str, bytes]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    owners: tuple[Mapping[str, Any], ...] = ()
    version: int = 1


@dataclasses.dataclass
class FakeKube:
    """The Secrets of the namespace, with the preconditions the API server checks on writes and deletes."""

    secrets: dict[str, Secret] = dataclasses.field(default_factory=dict)

    async def read_secret_key(self, namespace: str, name: str, key: str) -> kube.SecretValue | None:
        found = self.secrets.get(name)
        if found is None:
            return None
        return kube.SecretValue(found.data.get(key), str(found.version), found.labels, found.annotations)

    async def secret_meta(self, namespace: str, name: str) -> kube.SecretMeta | None:
        found = self.secrets.get(name)
        if found is None:
            return None
        return kube.SecretMeta(f"uid-{name}", str(found.version), found.labels, found.annotations, found.owners)

    async def write_key_secret(
        self,
        namespace: str,
        name: str,
        key_id: str,
        full_key: str,
        owner: Mapping[str, str],
        replacing: kube.SecretMeta | None,
    ) -> None:
        current = self.secrets.get(name)
        if (current is None) != (replacing is None) or (
            current is not None and replacing is not None and str(current.version) != replacing.resource_version
        ):
            raise errors.WaitingFor(f"Secret {name!r} changed")
        self.secrets[name] = Secret(
            {"apiKey": full_key.encode(), "keyId": key_id.encode()},
            {ownership.MANAGED_BY_LABEL: ownership.MANAGED_BY},
            {kube.KEY_ID_ANNOTATION: key_id},
            ({"kind": "ApiKey", "uid": owner["uid"], "name": owner["name"]},),
            (current.version + 1) if current else 1,
        )

    async def delete_owned_secret(self, namespace: str, name: str, owned: kube.SecretMeta) -> None:
        current = self.secrets.get(name)
        if current is not None and str(current.version) == owned.resource_version:
            del self.secrets[name]


@pytest.fixture
async def ctx(database_url: str) -> reconciler.Context:
    cipher = await vault_repo.open_or_create(database_url, PASSWORD, KdfParams.fast_for_tests())
    return reconciler.Context(
        database_url, cipher, FakeKube(), settings.OperatorSettings(database_url, PASSWORD, temporary_delay_s=1.0)
    )


def fake(ctx: reconciler.Context) -> FakeKube:
    assert isinstance(ctx.kube, FakeKube)
    return ctx.kube


def body(kind: str, name: str, spec: dict[str, Any], uid: str | None = None) -> dict[str, Any]:
    meta = {"name": name, "namespace": NS, "generation": 1, "uid": uid or f"uid-{name}"}
    return {"apiVersion": "tokenhub.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


def condition(written: dict[str, Any], kind: str) -> tuple[str, str, str]:
    (found,) = [c for c in written["conditions"] if c["type"] == kind]
    return found["status"], found["reason"], found["message"]


async def count(url: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}".encode())
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


DB_CREDENTIALS = Secret({"password": b"hunter2-production"}, {"app": "postgres"})


async def test_an_apikey_naming_a_foreign_secret_neither_overwrites_nor_deletes_it(ctx: reconciler.Context) -> None:
    fake(ctx).secrets["db-credentials"] = DB_CREDENTIALS
    apikey = body("ApiKey", "app", {"scopes": ["chat"], "secretName": "db-credentials"})
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await apikeys.reconcile(ctx, apikey, written)
    status, reason, message = condition(written, "Issued")
    assert (status, reason) == ("False", "SecretConflict")
    assert "Secret 'db-credentials' exists and is not managed by TokenHub for ApiKey 'app'" in message
    assert condition(written, "Ready")[:2] == ("False", "SecretConflict")
    assert fake(ctx).secrets["db-credentials"] is DB_CREDENTIALS
    assert await count(ctx.database_url, "api_keys") == 0, "no key is issued that nobody holds"

    assert not await apikeys.remove_key_secret(ctx, apikey)
    assert fake(ctx).secrets["db-credentials"] is DB_CREDENTIALS


async def test_a_secret_labelled_as_managed_but_owned_by_another_apikey_is_a_conflict(
    ctx: reconciler.Context,
) -> None:
    first = body("ApiKey", "first", {"scopes": ["chat"], "secretName": "shared"})
    await apikeys.reconcile(ctx, first, {})
    issued = fake(ctx).secrets["shared"]
    second = body("ApiKey", "second", {"scopes": ["chat"], "secretName": "shared"})
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await apikeys.reconcile(ctx, second, written)
    assert condition(written, "Issued")[:2] == ("False", "SecretConflict")
    assert fake(ctx).secrets["shared"] is issued
    recreated = body("ApiKey", "first", {"scopes": ["chat"], "secretName": "shared"}, uid="uid-first-again")
    with pytest.raises(kopf.TemporaryError):
        await apikeys.reconcile(ctx, recreated, {})
    assert fake(ctx).secrets["shared"] is issued


async def test_the_operator_rewrites_and_deletes_its_own_key_secret(ctx: reconciler.Context) -> None:
    apikey = body("ApiKey", "app", {"scopes": ["chat"]})
    written: dict[str, Any] = {}
    await apikeys.reconcile(ctx, apikey, written)
    assert condition(written, "Issued")[:2] == ("True", "Issued")
    first_key = fake(ctx).secrets["app-key"].data["apiKey"]
    rotate = {**apikey, "metadata": {**apikey["metadata"], "annotations": {apikeys.ROTATE_ANNOTATION: "now"}}}
    await apikeys.reconcile(ctx, rotate, {})
    assert fake(ctx).secrets["app-key"].data["apiKey"] != first_key
    assert await apikeys.remove_key_secret(ctx, apikey)
    assert "app-key" not in fake(ctx).secrets


MOCK = {"type": "openai", "baseURL": "https://tenant.example/v1", "apiKeySecretRef": {"name": "db-credentials"}}


async def test_a_provider_naming_a_secret_that_did_not_opt_in_gets_nothing_sealed(ctx: reconciler.Context) -> None:
    fake(ctx).secrets["db-credentials"] = Secret({"apiKey": b"sk-production-0123"})
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await providers.reconcile(ctx, body("Provider", "mine", MOCK), written)
    assert condition(written, "CredentialsResolved") == (
        "False",
        "SecretNotOptedIn",
        "Secret 'db-credentials' has not opted in as a provider credential: label it"
        " tokenhub.io/provider-credential=true or annotate it tokenhub.io/allowed-providers=mine",
    )
    assert await count(ctx.database_url, "credentials") == 0


async def test_an_annotation_allows_only_the_providers_it_names(ctx: reconciler.Context) -> None:
    fake(ctx).secrets["db-credentials"] = Secret(
        {"apiKey": b"sk-production-0123"}, annotations={ownership.ALLOWED_PROVIDERS_ANNOTATION: "openai"}
    )
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await providers.reconcile(ctx, body("Provider", "mine", MOCK), written)
    assert condition(written, "CredentialsResolved")[:2] == ("False", "SecretNotOptedIn")
    await providers.reconcile(ctx, body("Provider", "openai", MOCK), {})
    assert await count(ctx.database_url, "credentials") == 1


async def test_a_secret_that_opts_out_again_is_unsealed(ctx: reconciler.Context) -> None:
    fake(ctx).secrets["db-credentials"] = Secret({"apiKey": b"sk-production-0123"}, dict(OPTED_IN))
    written: dict[str, Any] = {}
    await providers.reconcile(ctx, body("Provider", "mine", MOCK), written)
    assert condition(written, "CredentialsResolved")[:2] == ("True", "Resolved")
    assert await count(ctx.database_url, "credentials") == 1
    fake(ctx).secrets["db-credentials"].labels.clear()
    with pytest.raises(kopf.TemporaryError):
        await providers.reconcile(ctx, body("Provider", "mine", MOCK), {})
    assert await count(ctx.database_url, "credentials") == 0
