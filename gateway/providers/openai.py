"""Adapter for OpenAI and every OpenAI-compatible server: one base URL, `Authorization: Bearer` when keyed."""

from __future__ import annotations

from gateway.providers import base, headers, session, stream, transport


class OpenAIAdapter:
    def __init__(
        self, config: base.ProviderConfig, client_factory: session.ClientFactory = session.default_client
    ) -> None:
        if not config.base_urls:
            raise ValueError(f"provider {config.name} has no base URL")
        self.config = config
        self._transport = transport.Transport(config, client_factory)
        self._base = config.base_urls[0].rstrip("/")
        self._static, self._auth = self.header_sets(config)

    @staticmethod
    def header_sets(config: base.ProviderConfig) -> tuple[dict[str, str], dict[str, str]]:
        """The static headers and the auth headers every request of this provider carries."""
        return headers.layered(config, {}), headers.bearer(config.api_key)

    async def send(self, req: base.UpstreamRequest) -> base.UpstreamResponse:
        return await self._transport.send(
            self._base + req.path, req, headers.for_request(self._static, self._auth, req)
        )

    async def open_stream(self, req: base.UpstreamRequest) -> stream.Http1Stream:
        return await self._transport.open_stream(
            self._base + req.path, req, headers.for_request(self._static, self._auth, req)
        )

    async def probe(self) -> base.ProbeResult:
        return await self._transport.probe(self._base + "/models", headers.probe_headers(self._static, self._auth))

    async def close(self) -> None:
        await self._transport.close()
