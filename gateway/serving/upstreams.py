"""Provider adapters for the current snapshot.

An adapter (with its pooled connections) is kept across config revisions while its provider's settings and
credential are unchanged; a changed provider gets a new adapter and the old one is closed only after a grace
period, so requests still running on it finish. Cooldowns after 429s live in the routing state's health book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.config import snapshot, specs
from gateway.providers import base, registry, session

log = logging.getLogger(__name__)

RETIRE_AFTER_S = 600.0


def provider_config(entry: snapshot.ProviderEntry, max_body_bytes: int = base.MAX_BODY_BYTES) -> base.ProviderConfig:
    return base.ProviderConfig(
        name=f"{entry.ref.namespace}/{entry.ref.name}",
        type=entry.spec.type.value,
        base_urls=entry.spec.urls,
        api_key=entry.credential,
        timeout_s=entry.spec.timeout_seconds,
        max_body_bytes=max_body_bytes,
        ca_bundle=entry.ca_bundle,
    )


def dialect(provider_type: specs.ProviderType) -> str:
    """The wire format a provider speaks: ``anthropic`` or ``openai`` (OpenAI, compatible servers, vLLM)."""
    return "anthropic" if provider_type is specs.ProviderType.ANTHROPIC else "openai"


class UpstreamPool:
    def __init__(
        self,
        client_factory: session.ClientFactory = session.default_client,
        retire_after_s: float = RETIRE_AFTER_S,
        *,
        max_body_bytes: int = base.MAX_BODY_BYTES,
    ) -> None:
        self._client_factory = client_factory
        self._max_body_bytes = max_body_bytes
        self._retire_after_s = retire_after_s
        self._adapters: dict[snapshot.Ref, tuple[base.ProviderConfig, base.ProviderAdapter]] = {}
        self._retiring: set[asyncio.Task[None]] = set()

    def sync(self, snap: snapshot.ConfigSnapshot) -> None:
        """Match adapters to the snapshot's routable providers (called on every new snapshot)."""
        wanted = {ref: provider_config(p, self._max_body_bytes) for ref, p in snap.providers.items() if p.routable}
        for ref in list(self._adapters):
            config, adapter = self._adapters[ref]
            if wanted.get(ref) != config:
                del self._adapters[ref]
                self._retire(adapter)
        for ref, config in wanted.items():
            if ref not in self._adapters:
                self._adapters[ref] = (config, registry.create_adapter(config, self._client_factory))

    def get(self, ref: snapshot.Ref) -> base.ProviderAdapter | None:
        found = self._adapters.get(ref)
        return found[1] if found else None

    def _retire(self, adapter: base.ProviderAdapter) -> None:
        async def close_later() -> None:
            await asyncio.sleep(self._retire_after_s)
            await adapter.close()

        try:
            task = asyncio.get_running_loop().create_task(close_later())
        except RuntimeError:  # no loop: nothing can be in flight either
            return
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for _, adapter in self._adapters.values():
            await adapter.close()
        self._adapters.clear()
