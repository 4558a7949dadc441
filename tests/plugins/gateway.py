"""A gateway running in the test's event loop on a loopback port, configured against the fake upstreams.

The configuration goes through the real path: manifests -> ``standalone.apply_documents`` -> Postgres ->
snapshot; keys are issued by the real ``keys_repo``. The SDKs then talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn
from prometheus_client import parser

from gateway import app as app_mod
from gateway import server as server_mod
from gateway import settings as settings_mod
from gateway import standalone
from gateway.api import inbound
from gateway.config import documents, egress, manifests
from gateway.providers import session
from gateway.serving import runtime as runtime_mod
from gateway.serving import supervisor
from gateway.store import keys_repo, vault_repo
from gateway.vault import KdfParams
from tests.fakes import fixtures as fake_fixtures
from tests.fakes import upstreams
from tests.plugins.processes import free_port

VAULT_PASSWORD = "test vault password, long enough"
ADMIN_TOKEN = "admin-token-for-tests-0123456789"
UPSTREAM_TIMEOUT_S = 1.0  # loopback fakes answer in milliseconds; a short timeout keeps timeout tests quick
LOG_COLUMNS = "status, model, provider, input_tokens, output_tokens, cost_usd, error_class, stream"

MANIFESTS = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: openai}}
spec: {{type: openai, baseURL: "{openai}", apiKeySecretRef: {{name: openai-creds}}, timeoutSeconds: {timeout}}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: anthropic}}
spec: {{type: anthropic, baseURL: "{anthropic}", apiKeySecretRef: {{name: anthropic-creds}}, timeoutSeconds: {timeout}}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: vllm}}
spec: {{type: vllm, endpoints: [{vllm}], timeoutSeconds: {timeout}}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: gpt}}
spec:
  providerRef: openai
  upstreamModel: gpt-4o-mini
  aliases: [gpt-4o-mini]
  contextWindow: 128000
  pricing: {{inputPer1K: 0.00015, outputPer1K: 0.0006}}
  capabilities: [chat, tools, json, vision]
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: claude}}
spec:
  providerRef: anthropic
  upstreamModel: claude-fake-large
  aliases: [claude-fake-large]
  contextWindow: 200000
  pricing: {{inputPer1K: 0.003, outputPer1K: 0.015}}
  capabilities: [chat, tools, vision]
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: llama}}
spec:
  providerRef: vllm
  upstreamModel: meta-llama/Llama-3.1-8B-Instruct
  contextWindow: 8192
  pricing: {{inputPer1K: 0.0001, outputPer1K: 0.0002}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: embed}}
spec:
  providerRef: openai
  upstreamModel: text-embedding-3-small
  aliases: [text-embedding-3-small]
  pricing: {{inputPer1K: 0.00002}}
  capabilities: [embeddings]
---
apiVersion: tokenhub.io/v1alpha1
kind: RoutingPolicy
metadata: {{name: default}}
spec:
  default: true
  fallbacks:
    - {{model: gpt, to: [claude]}}
    - {{model: claude, to: [gpt]}}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {{name: tester}}
spec: {{scopes: [chat, embeddings, models]}}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {{name: chat-only}}
spec: {{scopes: [chat]}}
"""


@dataclasses.dataclass
class Gateway:
    url: str
    key: str  # scopes chat, embeddings, models
    chat_only_key: str
    database_url: str
    runtime: runtime_mod.Runtime
    openai: upstreams.OpenAIUpstream
    anthropic: upstreams.AnthropicUpstream
    vllm: tuple[upstreams.VLLMUpstream, ...]
    manifests: str
    secrets: standalone.SecretSource
    cipher: vault_repo.VaultCipher
    server: uvicorn.Server
    serving: asyncio.Task[None]

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    async def metric(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` with exactly ``labels`` as ``/metrics`` shows it now; None when absent."""
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{self.url}/metrics")).text
        for family in parser.text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return None

    async def stop(self) -> None:
        """Shut the gateway down as SIGTERM would after draining (runs ``Runtime.stop``); idempotent."""
        self.server.should_exit = True
        await self.serving

    async def flush_logs(self) -> None:
        for _ in range(200):
            if self.runtime.logs.pending == 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # the batch being written

    async def log_rows(self, count: int, columns: str = LOG_COLUMNS) -> list[tuple[Any, ...]]:
        """The request log's rows in arrival order, once at least ``count`` are written (5 s at most)."""
        rows: list[tuple[Any, ...]] = []
        for _ in range(250):
            async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
                cur = await conn.execute(f"SELECT {columns} FROM request_logs ORDER BY created_at")
                rows = await cur.fetchall()
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} request log rows, found {len(rows)}: {rows}")

    async def until_revision(self, revision: int, timeout_s: float = 5.0) -> None:
        """Wait until this replica serves config ``revision`` (the listener polls every 0.2 s here)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            current = self.runtime.config.current
            if current is not None and current.revision >= revision:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the gateway did not reach config revision {revision} in {timeout_s}s")
            await asyncio.sleep(0.02)

    async def catch_up(self) -> None:
        """Wait until this replica serves the revision the store holds now (after any out-of-band change)."""
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute("SELECT revision FROM config_revision")
            row = await cur.fetchone()
        assert row is not None
        await self.until_revision(int(row[0]))

    async def apply(self, changed_manifests: str) -> int:
        """Apply the fixture's manifests with ``changed_manifests`` added or replacing theirs; the new revision."""
        docs: dict[documents.ObjectRef, documents.Document] = {}
        for text in (self.manifests, textwrap.dedent(changed_manifests)):
            loaded, problems = manifests.load_text(text, "test")
            assert not problems, problems
            docs.update((doc.ref, doc) for doc in loaded)
        report = await standalone.apply_documents(
            self.database_url, list(docs.values()), self.secrets, self.cipher, prune=False
        )
        return report.result.revision

    async def issue_key(self, name: str) -> str:
        issued, revision = await keys_repo.issue(self.database_url, documents.ObjectRef("ApiKey", "default", name))
        await self.until_revision(revision)
        return issued.full_key


def render_manifests(
    openai: upstreams.OpenAIUpstream, anthropic: upstreams.AnthropicUpstream, vllm: tuple[upstreams.VLLMUpstream, ...]
) -> str:
    endpoints = ", ".join(f'"{fake.url}"' for fake in vllm)
    return textwrap.dedent(
        MANIFESTS.format(openai=openai.url, anthropic=anthropic.url, vllm=endpoints, timeout=UPSTREAM_TIMEOUT_S)
    )


@pytest.fixture
def gateway_settings(tmp_path: pathlib.Path) -> settings_mod.Settings:
    """The settings of the ``gateway`` fixture; a test module overrides this fixture to change them."""
    return settings_mod.Settings(
        config_poll_interval_s=0.2,
        health_probes=False,
        data_dir=tmp_path / "data",
        provider_allow=egress.LOOPBACK_ALLOW,  # the fake upstreams listen on loopback, which the default policy refuses
    )


@pytest.fixture
def gateway_supervision() -> supervisor.Supervision:
    """How the ``gateway`` fixture supervises its loops; overridden to inject faults or shorten the backoff."""
    return supervisor.Supervision()


@pytest.fixture
def gateway_client_factory() -> session.ClientFactory | None:
    """Override in a test module to build the upstream clients (a stub resolver, say); None: from the settings."""
    return None


BeforeStart = Callable[[str, vault_repo.VaultCipher], Awaitable[None]]


@pytest.fixture
def before_gateway_start() -> BeforeStart | None:
    """Override in a test module to change the store after the manifests are applied, before the gateway starts."""
    return None


@pytest_asyncio.fixture
async def gateway(
    database_url: str,
    openai_upstream: upstreams.OpenAIUpstream,
    anthropic_upstream: upstreams.AnthropicUpstream,
    vllm_upstreams: tuple[upstreams.VLLMUpstream, ...],
    tmp_path: pathlib.Path,
    gateway_settings: settings_mod.Settings,
    gateway_supervision: supervisor.Supervision,
    before_gateway_start: BeforeStart | None,
    gateway_client_factory: session.ClientFactory | None,
) -> AsyncIterator[Gateway]:
    folder = tmp_path / "manifests"
    folder.mkdir()
    rendered = render_manifests(openai_upstream, anthropic_upstream, vllm_upstreams)
    (folder / "config.yaml").write_text(rendered)
    docs = manifests.load(folder)
    cipher = await vault_repo.open_or_create(database_url, VAULT_PASSWORD, KdfParams.fast_for_tests())
    source = standalone.SecretSource(
        {
            standalone.secret_env_name("openai-creds", "apiKey"): fake_fixtures.OPENAI_KEY,
            standalone.secret_env_name("anthropic-creds", "apiKey"): fake_fixtures.ANTHROPIC_KEY,
        },
        tmp_path / "secrets",
    )
    await standalone.apply_documents(database_url, docs, source, cipher, prune=False)
    key, _ = await keys_repo.issue(database_url, documents.ObjectRef("ApiKey", "default", "tester"))
    chat_only, _ = await keys_repo.issue(database_url, documents.ObjectRef("ApiKey", "default", "chat-only"))
    if before_gateway_start is not None:
        await before_gateway_start(database_url, cipher)

    settings = dataclasses.replace(gateway_settings, host="127.0.0.1", port=free_port())
    runtime = app_mod.create_runtime(
        settings, database_url, VAULT_PASSWORD, gateway_supervision, client_factory=gateway_client_factory
    )
    port = settings.port
    app = app_mod.create_app(runtime, ADMIN_TOKEN, inbound.Limits.of(settings))
    server = uvicorn.Server(server_mod.uvicorn_config(app, settings))
    task = asyncio.create_task(server.serve(), name="gateway-under-test")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Gateway(
            url=f"http://127.0.0.1:{port}",
            key=key.full_key,
            chat_only_key=chat_only.full_key,
            database_url=database_url,
            runtime=runtime,
            openai=openai_upstream,
            anthropic=anthropic_upstream,
            vllm=vllm_upstreams,
            manifests=rendered,
            secrets=source,
            cipher=cipher,
            server=server,
            serving=task,
        )
    finally:
        server.should_exit = True
        await task
