"""A gateway under fuzzing: `tokenhub serve` as its own process on loopback, real Postgres, the fake upstreams.

Schemathesis calls synchronously, so the fakes (aiohttp, asyncio) run on an event loop of their own in a
background thread, and the gateway in a process of its own, as in production - which also lets the fuzzer's
generation and the gateway's work use both cores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from gateway import standalone
from gateway.config import documents, manifests
from gateway.store import keys_repo, vault_repo
from gateway.vault import KdfParams
from tests.fakes import fixtures as fake_fixtures
from tests.fakes import upstreams
from tests.plugins import gateway as gateway_plugin
from tests.plugins import replicas
from tests.plugins.processes import GatewayProcess

T = TypeVar("T")
MODELS = ("gpt", "claude", "llama", "embed", "gpt-4o-mini", "claude-fake-large", "auto")  # what the config serves


class LoopThread:
    """An asyncio loop running in a daemon thread; ``run(coro)`` waits for a coroutine scheduled on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-fakes", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclasses.dataclass
class Target:
    url: str
    key: str  # scopes chat, embeddings, models
    process: GatewayProcess
    database_url: str
    upstreams: tuple[upstreams.FakeUpstream, ...]


async def _start_fakes() -> tuple[upstreams.OpenAIUpstream, upstreams.AnthropicUpstream, upstreams.VLLMUpstream]:
    openai = upstreams.OpenAIUpstream(api_key=fake_fixtures.OPENAI_KEY)
    anthropic = upstreams.AnthropicUpstream(api_key=fake_fixtures.ANTHROPIC_KEY)
    vllm = upstreams.VLLMUpstream()
    for fake in (openai, anthropic, vllm):
        await fake.start()
    return openai, anthropic, vllm


async def _configure(database_url: str, rendered: str, tmp_path: pathlib.Path) -> str:
    """Apply the integration fixture's manifests and issue the all-scopes key; returns that key."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "config.yaml").write_text(rendered)
    cipher = await vault_repo.open_or_create(database_url, replicas.VAULT_PASSWORD, KdfParams.fast_for_tests())
    secrets = standalone.SecretSource(
        {
            standalone.secret_env_name("openai-creds", "apiKey"): fake_fixtures.OPENAI_KEY,
            standalone.secret_env_name("anthropic-creds", "apiKey"): fake_fixtures.ANTHROPIC_KEY,
        },
        tmp_path / "secrets",
    )
    await standalone.apply_documents(database_url, manifests.load(folder), secrets, cipher, prune=False)
    issued, _ = await keys_repo.issue(database_url, documents.ObjectRef("ApiKey", "default", "tester"))
    return issued.full_key


def running(database_url: str, tmp_path: pathlib.Path) -> Iterator[Target]:
    """Start the fakes and one gateway process on ``database_url``; stop both when the generator is closed."""
    fakes_loop = LoopThread()
    try:
        openai, anthropic, vllm = fakes_loop.run(_start_fakes())
        try:
            rendered = gateway_plugin.render_manifests(openai, anthropic, (vllm,))
            key = asyncio.run(_configure(database_url, rendered, tmp_path))
            process = replicas.spawn_replica(tmp_path, 0, database_url, {})
            try:
                process.wait_ready()
                yield Target(process.url, key, process, database_url, (openai, anthropic, vllm))
            finally:
                replicas.stop(process.proc)
        finally:
            for fake in (openai, anthropic, vllm):
                fakes_loop.run(fake.close())
    finally:
        fakes_loop.close()
