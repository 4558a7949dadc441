"""Adapter for vLLM: OpenAI wire format over several endpoints, round-robin, with an optional Bearer key.

An endpoint that refuses the connection is skipped to the next one for the same request: nothing reached it,
so resending is safe. Any later failure is the request's, and is raised as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.providers import base, errors, headers, session, stream, transport

_T = TypeVar("_T")


class VLLMAdapter:
    def __init__(
        self, config: base.ProviderConfig, client_factory: session.ClientFactory = session.default_client
    ) -> None:
        if not config.base_urls:
            raise ValueError(f"provider {config.name} has no endpoints")
        self.config = config
        self._transport = transport.Transport(config, client_factory)
        self._bases = tuple(url.rstrip("/") for url in config.base_urls)
        self._next = 0
        self._static = headers.layered(config, {})
        self._auth = headers.bearer(config.api_key)

    def _rotation(self) -> list[str]:
        start = self._next
        self._next = (start + 1) % len(self._bases)
        return [self._bases[(start + offset) % len(self._bases)] for offset in range(len(self._bases))]

    async def _first_reachable(self, attempt: Callable[[str], Awaitable[_T]]) -> _T:
        last: errors.ConnectFailed | None = None
        for base_url in self._rotation():
            try:
                return await attempt(base_url)
            except errors.ConnectFailed as exc:
                last = exc
        assert last is not None  # the rotation is never empty
        raise errors.ConnectFailed(
            self.config.name, f"{self.config.name}: all {len(self._bases)} endpoints unreachable; last: {last}"
        ) from last

    async def send(self, req: base.UpstreamRequest) -> base.UpstreamResponse:
        sent = headers.for_request(self._static, self._auth, req)
        return await self._first_reachable(lambda base_url: self._transport.send(base_url + req.path, req, sent))

    async def open_stream(self, req: base.UpstreamRequest) -> stream.Http1Stream:
        sent = headers.for_request(self._static, self._auth, req)
        return await self._first_reachable(lambda base_url: self._transport.open_stream(base_url + req.path, req, sent))

    async def probe(self) -> base.ProbeResult:
        """Healthy while any endpoint answers, since requests skip the unreachable ones."""
        probe_headers = headers.probe_headers(self._static, self._auth)
        results = await asyncio.gather(
            *(self._transport.probe(base_url + "/models", probe_headers) for base_url in self._bases)
        )
        healthy = [result for result in results if result.ok]
        return min(healthy, key=lambda result: result.latency_s) if healthy else results[0]

    async def close(self) -> None:
        await self._transport.close()
