"""TokenHub between an agent CLI and the capture server, inside the driver's loopback-only namespace.

The capture server plays the upstream of one provider type (`openai` speaks the Responses API natively, `vllm`
gets Chat Completions, `anthropic` Messages); the gateway runs in the driver's event loop, configured through the
real path (manifests -> Postgres -> snapshot), on a database the test made outside the namespace (Postgres listens
on a Unix socket, which a network namespace does not hide). Its request-log rows go into the driver's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import psycopg
import uvicorn

from gateway import app as app_mod
from gateway import settings as settings_mod
from gateway import standalone
from gateway.config import documents, manifests
from gateway.store import keys_repo, vault_repo
from gateway.vault import KdfParams
from tests.agents import clis

MODEL = "agent-model"
KNOWN_MODEL = (
    "gpt-5.5"  # an alias of MODEL: Codex sends its full tool set (apply_patch, tool_search) for names it knows
)
PRICES = (Decimal("0.001"), Decimal("0.002"))  # USD per 1K input and output tokens
PROVIDER_TYPES = ("openai", "vllm", "anthropic")
VAULT_PASSWORD = "agent tests vault password"
LOG_COLUMNS = ("endpoint", "status", "model", "provider", "input_tokens", "output_tokens", "cost_usd", "stream")


def manifests_for(provider_type: str, upstream_url: str) -> str:
    address = f"endpoints: [{upstream_url}/v1]" if provider_type == "vllm" else f"baseURL: {upstream_url}/v1"
    credential = "" if provider_type == "vllm" else ", apiKeySecretRef: {name: upstream-creds}"
    return f"""
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: upstream}}
spec: {{type: {provider_type}, {address}{credential}, timeoutSeconds: 60}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: {MODEL}}}
spec:
  providerRef: upstream
  upstreamModel: capture-model
  aliases: [{KNOWN_MODEL}]
  contextWindow: 400000
  pricing: {{inputPer1K: {PRICES[0]}, outputPer1K: {PRICES[1]}}}
  capabilities: [chat, tools, json, vision]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {{name: agent}}
spec: {{scopes: [chat, models]}}
"""


@dataclasses.dataclass
class Stage:
    url: str
    key: str
    database_url: str
    server: uvicorn.Server
    runtime: Any

    async def log_rows(self) -> list[dict[str, Any]]:
        """Every request-log row, once the writer has none left to write."""
        async with asyncio.timeout(10):
            while self.runtime.logs.pending:  # noqa: ASYNC110 - the writer offers no event to wait on
                await asyncio.sleep(0.02)
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute(f"SELECT {', '.join(LOG_COLUMNS)} FROM request_logs ORDER BY created_at")
            rows = await cur.fetchall()
        return [
            {
                name: (str(value) if isinstance(value, Decimal) else value)
                for name, value in zip(LOG_COLUMNS, row, strict=True)
            }
            for row in rows
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def running(provider_type: str, upstream_url: str, database_url: str, root: pathlib.Path) -> AsyncIterator[Stage]:
    docs, problems = manifests.load_text(manifests_for(provider_type, upstream_url), "agents")
    if problems:
        raise ValueError(f"the stage's manifests do not load: {problems}")
    cipher = await vault_repo.open_or_create(database_url, VAULT_PASSWORD, KdfParams.fast_for_tests())
    secrets = standalone.SecretSource(
        {standalone.secret_env_name("upstream-creds", "apiKey"): clis.API_KEY}, root / "secrets"
    )
    await standalone.apply_documents(database_url, docs, secrets, cipher, prune=False)
    issued, _ = await keys_repo.issue(database_url, documents.ObjectRef("ApiKey", "default", "agent"))
    settings = settings_mod.Settings(config_poll_interval_s=0.2, health_probes=False, data_dir=root / "gateway")
    runtime = app_mod.create_runtime(settings, database_url, VAULT_PASSWORD)
    port = _free_port()
    config = uvicorn.Config(
        app_mod.create_app(runtime), host="127.0.0.1", port=port, lifespan="on", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name="gateway")
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        yield Stage(f"http://127.0.0.1:{port}", issued.full_key, database_url, server, runtime)
    finally:
        server.should_exit = True
        await serving
