"""One bad config object affects only itself: a replica starts, serves the rest, and keeps following revisions.

The bad objects are written straight into the store, past validation, as an older or newer writer could: a
RoutingPolicy whose mode weights are all zero and a Provider whose credential is not text. Before, the first
stopped the config listener of every running replica (a pruned key still worked) and made a restarted replica
exit at startup; the second did the same through ``bytes.decode``.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
from typing import Any

import httpx
import psycopg
import pytest

from gateway.config import documents, reconcile
from gateway.serving import routing_tables
from gateway.store import config_repo, vault_repo
from tests.plugins import replicas
from tests.plugins.gateway import BeforeStart, Gateway

Ref = documents.ObjectRef
ZERO = Ref("RoutingPolicy", "default", "zero")
BROKEN = Ref("Provider", "default", "broken")
ON_BROKEN = Ref("Model", "default", "on-broken")
NOT_TEXT = b"\xff\xfe\x00sk-not-text"


def zero_weights_policy() -> dict[str, Any]:
    return {"weights": {"normal": {"cost": 0, "latency": 0, "failure": 0, "weight": 0}}}


def broken_provider(base_url: str) -> dict[str, Any]:
    return {"type": "openai", "baseURL": base_url, "apiKeySecretRef": {"name": "broken-creds", "key": "apiKey"}}


async def write_unvalidated(
    url: str, cipher: config_repo.CredentialCipher, objects: dict[Ref, dict[str, Any]], credentials: dict[Ref, bytes]
) -> int:
    """Store specs and credentials as given, through the store's own write path but with no validation."""
    upserts = tuple(reconcile.DesiredObject(ref, spec, reconcile.spec_hash(spec)) for ref, spec in objects.items())
    sealed = tuple(reconcile.CredentialChange(ref, plaintext) for ref, plaintext in credentials.items())
    result = await config_repo.apply(
        url, lambda _: reconcile.ChangeSet(upserts, credentials=sealed), owner="another-writer", cipher=cipher
    )
    return result.revision


def bad_objects(upstream: str) -> dict[Ref, dict[str, Any]]:
    return {
        ZERO: zero_weights_policy(),
        BROKEN: broken_provider(upstream),
        ON_BROKEN: {"providerRef": "broken", "upstreamModel": "gpt-4o-mini"},
    }


async def chat(url: str, key: str, model: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"{url}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "still there?"}]},
        )


async def object_errors(url: str) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    found = {}
    for line in text.splitlines():
        if line.startswith("tokenhub_config_object_errors{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('kind="')[1].split('"')[0]] = float(value)
    return found


async def until_serving(client: httpx.AsyncClient, url: str, revision: int, timeout_s: float = 10.0) -> None:
    """Until the replica at ``url`` is ready and serves ``revision`` (it polls the store every 0.2 s here)."""
    async with asyncio.timeout(timeout_s):
        while True:
            reply = await client.get(f"{url}/readyz")
            if reply.status_code == 200 and reply.json()["config_revision"] >= revision:
                return
            await asyncio.sleep(0.05)


class TestAGatewayStartsWithBadObjectsStored:
    @pytest.fixture
    def before_gateway_start(self, openai_upstream: Any) -> BeforeStart:
        async def write(url: str, cipher: vault_repo.VaultCipher) -> None:
            await write_unvalidated(url, cipher, bad_objects(openai_upstream.url), {BROKEN: NOT_TEXT})

        return write

    async def test_it_serves_the_rest_and_shows_what_it_left_out(
        self, gateway: Gateway, caplog: pytest.LogCaptureFixture
    ) -> None:
        snap = gateway.runtime.config.current
        assert snap is not None
        assert {(str(p.ref), p.reason) for p in snap.problems} == {
            (str(ZERO), "InvalidSpec"),
            (str(BROKEN), "CredentialInvalid"),
        }
        assert ZERO not in snap.policies
        assert not snap.models[ON_BROKEN].routable

        assert (await chat(gateway.url, gateway.key, "gpt")).status_code == 200
        assert (await chat(gateway.url, gateway.key, "claude")).status_code == 200
        refused = await chat(gateway.url, gateway.key, "on-broken")
        assert refused.status_code == 503 and "no provider behind 'on-broken'" in refused.text
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{gateway.url}/readyz")).status_code == 200
        assert await object_errors(gateway.url) == {"Provider": 1, "Model": 0, "RoutingPolicy": 1, "ApiKey": 0}
        errors = [r.getMessage() for r in caplog.get_records("setup") if r.levelno == logging.ERROR]
        assert any(str(ZERO) in m and "must be above 0" in m for m in errors), errors
        assert any(str(BROKEN) in m and "not ASCII text" in m for m in errors), errors


async def test_a_running_gateway_takes_a_bad_object_and_keeps_following_revisions(gateway: Gateway) -> None:
    revision = await write_unvalidated(
        gateway.database_url, gateway.cipher, bad_objects(gateway.openai.url), {BROKEN: NOT_TEXT}
    )
    await gateway.until_revision(revision)
    snap = gateway.runtime.config.current
    assert snap is not None and {p.ref for p in snap.problems} == {ZERO, BROKEN}
    assert routing_tables.of(snap).problems == ()  # left out before the routing tables: nothing failed there
    assert (await chat(gateway.url, gateway.chat_only_key, "gpt")).status_code == 200

    disabled = await gateway.apply(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {name: chat-only}
        spec: {scopes: [chat], disabled: true}
        """
    )
    await gateway.until_revision(disabled)
    assert (await chat(gateway.url, gateway.chat_only_key, "gpt")).status_code == 401
    assert (await chat(gateway.url, gateway.key, "gpt")).status_code == 200

    fixed = await write_unvalidated(gateway.database_url, gateway.cipher, {ZERO: {"default": False}}, {})
    await gateway.until_revision(fixed)
    assert await object_errors(gateway.url) == {"Provider": 1, "Model": 0, "RoutingPolicy": 0, "ApiKey": 0}


async def test_a_restarted_replica_process_starts_on_a_store_holding_bad_objects(
    database_url: str, fleet: replicas.StartFleet, mock_upstreams: replicas.StartMock, tmp_path: pathlib.Path
) -> None:
    mock = mock_upstreams()
    keys = "apiVersion: tokenhub.io/v1alpha1\nkind: ApiKey\nmetadata: {name: app}\nspec: {scopes: [chat]}\n"
    hub = await fleet(database_url, replicas.fleet_manifests(mock.url, keys), count=1)
    cipher = await vault_repo.open_or_create(database_url, replicas.VAULT_PASSWORD)
    revision = await write_unvalidated(database_url, cipher, bad_objects(mock.url), {BROKEN: NOT_TEXT})

    restarted = replicas.spawn_replica(tmp_path, 1, database_url, {})
    try:
        await replicas.until_ready(restarted)  # fails if the process exits, as it did before
        async with httpx.AsyncClient(timeout=10) as client:
            for replica in (*hub.gateways, restarted):
                await until_serving(client, replica.url, revision)
                reply = await replicas.chat(client, replica.url, hub.key("app"), replicas.chat_body("hello"))
                assert reply.status == 200
        log = restarted.log()
        assert f"{ZERO}" in log and "InvalidSpec" in log
        assert f"{BROKEN}" in log and "CredentialInvalid" in log
    finally:
        replicas.stop(restarted.proc)


async def test_a_credential_that_does_not_open_leaves_only_its_provider_unroutable(gateway: Gateway) -> None:
    openai = Ref("Provider", "default", "openai")
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn, conn.transaction():
        # One flipped bit of the ciphertext: authentication fails, as for a row altered or copied elsewhere.
        await conn.execute(
            "UPDATE credentials SET sealed = set_byte(sealed, length(sealed) - 1,"
            " get_byte(sealed, length(sealed) - 1) # 1) WHERE kind = 'Provider' AND name = 'openai'"
        )
        revision = await config_repo.current_revision(conn) + 1
        await config_repo.bump_revision(conn, revision)
    await gateway.until_revision(revision)

    snap = gateway.runtime.config.current
    assert snap is not None
    (problem,) = snap.problems
    assert (problem.ref, problem.reason) == (openai, "CredentialUnreadable")
    assert "failed authentication" in problem.message
    assert (await chat(gateway.url, gateway.key, "claude")).status_code == 200
    routed = await chat(gateway.url, gateway.key, "gpt")  # the default policy falls back from gpt to claude
    assert (routed.status_code, routed.headers["x-tokenhub-model"]) == (200, "claude")
