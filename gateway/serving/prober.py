"""Active health probes: a cheap, unbilled request per provider (``GET {base}/models``) on its own interval.

Probe results are kept beside the traffic statistics in the health book: a provider that answers probes is
brought back early from a cooldown; one that fails them while idle is marked down before a client pays for the
discovery. Each provider is probed on its ``healthCheck.intervalSeconds``; the loop never blocks requests.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.config import snapshot
from gateway.serving import config_source, routing_state, upstreams

log = logging.getLogger(__name__)


class Prober:
    def __init__(
        self,
        config: config_source.ConfigHolder,
        pool: upstreams.UpstreamPool,
        routing: routing_state.RoutingState,
        *,
        tick_s: float = 1.0,
    ) -> None:
        self._config = config
        self._pool = pool
        self._routing = routing
        self._tick_s = tick_s
        self._next_at: dict[snapshot.Ref, float] = {}
        self.probes = 0

    def due(self, snap: snapshot.ConfigSnapshot, now: float) -> list[snapshot.ProviderEntry]:
        """Providers whose probe is due at ``now`` (pure, apart from remembering the schedule)."""
        found = []
        for ref, provider in snap.providers.items():
            check = provider.spec.health_check
            if not provider.routable or not check.enabled:
                continue
            if now >= self._next_at.get(ref, 0.0):
                self._next_at[ref] = now + check.interval_seconds
                found.append(provider)
        return found

    async def probe_once(self) -> int:
        snap = self._config.current
        if snap is None:
            return 0
        providers = self.due(snap, time.monotonic())
        results = await asyncio.gather(*(self._probe(p) for p in providers))
        return sum(results)

    async def _probe(self, provider: snapshot.ProviderEntry) -> int:
        adapter = self._pool.get(provider.ref)
        if adapter is None:
            return 0
        try:
            result = await asyncio.wait_for(adapter.probe(), provider.spec.health_check.timeout_seconds + 1)
        except TimeoutError:
            self._routing.probed(provider.ref, ok=False, latency_s=None)
        else:
            self._routing.probed(provider.ref, ok=result.ok, latency_s=result.latency_s)
        self.probes += 1
        return 1

    async def run(self) -> None:
        while True:
            await self.probe_once()
            await asyncio.sleep(self._tick_s)
