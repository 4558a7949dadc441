"""Active health probes: a cheap, unbilled request per provider (``GET {base}/models``) on its own interval.

Probe results are kept beside the traffic statistics in the health book: a provider that answers probes is
brought back early from a cooldown; one that fails them while idle is marked down before a client pays for the
discovery. Each provider is probed on its ``healthCheck.intervalSeconds``; the loop never blocks requests.
One replica probes at a time (whoever holds the ``Leadership``, a Postgres advisory lock in production); the
others skip probing and learn the results through ``sharing``, and take over when the holder's session ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from gateway.config import snapshot
from gateway.serving import config_source, routing_state, upstreams

log = logging.getLogger(__name__)


class Leadership(Protocol):
    async def hold(self) -> bool:
        """Whether this replica is the active prober now; takes the role when it is free."""
        ...

    async def close(self) -> None: ...


class Alone:
    """Leadership for a replica that probes on its own (tests, a single replica)."""

    async def hold(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class Prober:
    def __init__(
        self,
        config: config_source.ConfigHolder,
        pool: upstreams.UpstreamPool,
        routing: routing_state.RoutingState,
        *,
        tick_s: float = 1.0,
        leadership: Leadership | None = None,
    ) -> None:
        self._config = config
        self._pool = pool
        self._routing = routing
        self._tick_s = tick_s
        self._next_at: dict[snapshot.Ref, float] = {}
        self._leadership = leadership or Alone()
        self.leading = False
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
            if result.counts:  # a refusal by the gateway's own egress says nothing of the provider
                self._routing.probed(provider.ref, ok=result.ok, latency_s=result.latency_s)
        self.probes += 1
        return 1

    async def run(self) -> None:
        """Probe while leading, checking the role every tick; gives the role up when cancelled."""
        try:
            while True:
                leading = await self._leadership.hold()
                if leading and not self.leading:
                    self._next_at.clear()  # a new leader probes everything at once: the last results may be old
                self.leading = leading
                if leading:
                    await self.probe_once()
                await asyncio.sleep(self._tick_s)
        finally:
            self.leading = False
            await self._leadership.close()
