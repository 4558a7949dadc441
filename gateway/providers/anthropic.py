"""Adapter for Anthropic's API: `x-api-key` auth and an `anthropic-version` the client may override.

Anthropic's GET /v1/models is unbilled, so it is the probe, as for the OpenAI family.
"""

from __future__ import annotations

from gateway.providers import base, headers, session, stream, transport

API_VERSION = "2023-06-01"


class AnthropicAdapter:
    def __init__(
        self, config: base.ProviderConfig, session_factory: session.SessionFactory = session.default_session
    ) -> None:
        if not config.base_urls:
            raise ValueError(f"provider {config.name} has no base URL")
        self.config = config
        self._transport = transport.Transport(config, session_factory)
        self._base = config.base_urls[0].rstrip("/")
        self._static = headers.layered(config, {"anthropic-version": API_VERSION})
        self._auth = {"x-api-key": config.api_key} if config.api_key else {}

    async def send(self, req: base.UpstreamRequest) -> base.UpstreamResponse:
        return await self._transport.send(
            self._base + req.path, req, headers.for_request(self._static, self._auth, req)
        )

    async def open_stream(self, req: base.UpstreamRequest) -> stream.AiohttpStream:
        return await self._transport.open_stream(
            self._base + req.path, req, headers.for_request(self._static, self._auth, req)
        )

    async def probe(self) -> base.ProbeResult:
        return await self._transport.probe(self._base + "/models", headers.probe_headers(self._static, self._auth))

    async def close(self) -> None:
        await self._transport.close()
