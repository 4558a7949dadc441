"""The operator and a Provider's egress fields: a URL the gateways' egress policy refuses is reported on the
resource, and a CA bundle is resolved from its Secret, judged, sealed beside the credential and removed with it."""

from __future__ import annotations

from typing import Any

import kopf
import psycopg
import pytest
import trustme

from gateway.config import egress
from gateway.store import vault_repo
from gateway.vault import KdfParams
from tests.integration.test_operator_compile_status import PASSWORD, FakeKube, body, condition
from tokenhub_operator import reconciler, settings
from tokenhub_operator.handlers import providers


@pytest.fixture
async def ctx(database_url: str) -> reconciler.Context:
    cipher = await vault_repo.open_or_create(database_url, PASSWORD, KdfParams.fast_for_tests())
    operator_settings = settings.OperatorSettings(
        database_url, PASSWORD, temporary_delay_s=1.0, egress_policy=egress.Policy.parse(None, None)
    )
    return reconciler.Context(database_url, cipher, FakeKube(), operator_settings)


async def sealed_kinds(database_url: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT kind FROM credentials WHERE namespace = 'team' ORDER BY kind")
        return [row[0] for row in await cur.fetchall()]


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://169.254.169.254/v1", "link-local"), ("http://[fd00:ec2::254]/v1", "metadata")],
)
async def test_a_provider_url_the_policy_refuses_is_not_ready_with_the_reason(
    ctx: reconciler.Context, url: str, words: str
) -> None:
    written: dict[str, Any] = {}
    await providers.reconcile(ctx, body("Provider", "meta", {"type": "vllm", "baseURL": url}), written)
    status, reason, message = condition(written, "Compiled")
    assert (status, reason) == ("False", "EgressDenied")
    assert words in message and "TOKENHUB_PROVIDER_ALLOW" in message
    assert condition(written, "Ready")[0] == "False"


async def test_a_ca_bundle_is_sealed_beside_the_credential_and_removed_with_the_provider(
    ctx: reconciler.Context, database_url: str
) -> None:
    ctx.kube.secrets[("team", "creds")] = {"apiKey": b"sk-private"}
    ctx.kube.secrets[("team", "private-ca")] = {"ca.crt": trustme.CA().cert_pem.bytes()}
    spec = {
        "type": "openai-compatible",
        "baseURL": "https://llm.team.svc.cluster.local/v1",
        "apiKeySecretRef": {"name": "creds"},
        "caBundleSecretRef": {"name": "private-ca", "key": "ca.crt"},
    }
    written: dict[str, Any] = {}
    await providers.reconcile(ctx, body("Provider", "private", spec), written)
    assert condition(written, "CredentialsResolved")[0] == "True"
    assert condition(written, "Ready")[0] == "True"
    assert await sealed_kinds(database_url) == ["Provider", "Provider.caBundle"]
    await reconciler.remove(ctx, reconciler.document_ref(body("Provider", "private", spec)))
    assert await sealed_kinds(database_url) == []


async def test_a_ca_bundle_that_is_not_pem_leaves_credentials_unresolved_with_the_reason(
    ctx: reconciler.Context, database_url: str
) -> None:
    ctx.kube.secrets[("team", "private-ca")] = {"ca.crt": b"-----BEGIN CERTIFICATE-----\nnonsense\n"}
    spec = {
        "type": "vllm",
        "baseURL": "https://llm.team.svc/v1",
        "caBundleSecretRef": {"name": "private-ca", "key": "ca.crt"},
    }
    written: dict[str, Any] = {}
    with pytest.raises(kopf.TemporaryError):
        await providers.reconcile(ctx, body("Provider", "private", spec), written)
    status, reason, message = condition(written, "CredentialsResolved")
    assert (status, reason) == ("False", "CABundleInvalid")
    assert "private-ca" in message and "PEM" in message
    assert await sealed_kinds(database_url) == []
