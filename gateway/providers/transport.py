"""The I/O shell shared by every adapter: one lazily created session, POST, stream, probe, error translation.

Adapters only choose URLs and headers. Everything that can fail is turned into an `errors` class here, with
the provider's key scrubbed from messages and bodies (some servers echo a rejected key back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp
import orjson

from gateway.providers import base, classify, errors, session, stream

ERROR_BODY_LIMIT = 1 << 20  # an error body is read up to this many bytes, to classify it
_REDACTED = "***"


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body up to `limit` bytes (one `read(n)` may return only what has arrived so far)."""
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        part = await resp.content.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class Transport:
    def __init__(self, config: base.ProviderConfig, session_factory: session.SessionFactory) -> None:
        self.config = config
        self._session_factory = session_factory
        self._session: aiohttp.ClientSession | None = None
        self._send_timeout = aiohttp.ClientTimeout(total=config.timeout_s, sock_connect=config.connect_timeout_s)
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=config.connect_timeout_s, sock_read=config.timeout_s
        )
        self._probe_timeout = aiohttp.ClientTimeout(total=config.connect_timeout_s)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._session_factory(self.config)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def redact(self, err: errors.UpstreamError) -> errors.UpstreamError:
        key = self.config.api_key
        if not key:
            return err
        if key in err.message:
            err.message = err.message.replace(key, _REDACTED)
            err.args = (err.message,)
        if err.body is not None and key.encode() in err.body:
            err.body = err.body.replace(key.encode(), _REDACTED.encode())
        return err

    def _failed(self, status: int, headers: Mapping[str, str], body: bytes) -> errors.UpstreamError:
        err = classify.classify(self.config.name, self.config.type, status, headers, body, now=datetime.now(UTC))
        return self.redact(err)

    def _translated(self, exc: BaseException) -> errors.UpstreamError:
        return self.redact(session.translate(self.config.name, exc, timeout_s=self.config.timeout_s))

    async def send(self, url: str, req: base.UpstreamRequest, headers: Mapping[str, str]) -> base.UpstreamResponse:
        started = time.perf_counter()
        try:
            async with self._client().post(
                url, data=req.body, headers=headers, timeout=self._send_timeout, allow_redirects=False
            ) as resp:
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._translated(exc) from exc
        elapsed = time.perf_counter() - started
        if not 200 <= resp.status < 300:
            raise self._failed(resp.status, resp.headers, body)
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise self._failed(resp.status, resp.headers, body) from exc
        return base.UpstreamResponse(status=resp.status, headers=resp.headers, body=body, elapsed_s=elapsed)

    async def open_stream(
        self, url: str, req: base.UpstreamRequest, headers: Mapping[str, str]
    ) -> stream.AiohttpStream:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.timeout_s):
                resp = await self._client().post(
                    url, data=req.body, headers=headers, timeout=self._stream_timeout, allow_redirects=False
                )
                try:
                    open_s = time.perf_counter() - started
                    if not 200 <= resp.status < 300:
                        body = await _read_capped(resp, ERROR_BODY_LIMIT)
                        resp.release()
                        raise self._failed(resp.status, resp.headers, body)
                    first = await resp.content.readany()
                except BaseException:
                    resp.close()
                    raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._translated(exc) from exc
        return stream.AiohttpStream(
            resp,
            first,
            provider=self.config.name,
            idle_s=self.config.timeout_s,
            open_s=open_s,
            first_byte_s=time.perf_counter() - started,
            redact=self.redact,
        )

    async def probe(self, url: str, headers: Mapping[str, str]) -> base.ProbeResult:
        started = time.perf_counter()
        try:
            async with self._client().get(
                url, headers=headers, timeout=self._probe_timeout, allow_redirects=False
            ) as resp:
                body = await _read_capped(resp, ERROR_BODY_LIMIT)
        except (aiohttp.ClientError, TimeoutError) as exc:
            latency = time.perf_counter() - started
            return base.ProbeResult(False, None, latency, self._translated(exc).error_class)
        latency = time.perf_counter() - started
        if 200 <= resp.status < 300:
            return base.ProbeResult(True, resp.status, latency, None)
        return base.ProbeResult(False, resp.status, latency, self._failed(resp.status, resp.headers, body).error_class)
