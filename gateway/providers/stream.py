"""An upstream response body relayed chunk by chunk, exactly as the socket delivers it (no re-chunking).

The first chunk is read before the stream is handed out, so a failure up to that point is still an ordinary
error the caller can fail over from; after it, a cut connection or a read idle longer than the provider's
timeout raises `StreamBroken`. The idle clock is aiohttp's `sock_read`, which pauses while the consumer is slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import aiohttp

from gateway.providers import errors, session


class AiohttpStream:
    """`base.UpstreamStream` over an open aiohttp response whose first body chunk is already in hand."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        first_chunk: bytes,
        *,
        provider: str,
        idle_s: float,
        open_s: float,
        first_byte_s: float,
        redact: Callable[[errors.UpstreamError], errors.UpstreamError],
    ) -> None:
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.open_s = open_s
        self.first_byte_s = first_byte_s
        self._response = response
        self._pending: bytes | None = first_chunk or None
        self._done = not first_chunk
        self._provider = provider
        self._idle_s = idle_s
        self._redact = redact
        if self._done:
            response.release()

    async def __aenter__(self) -> AiohttpStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def exhausted(self) -> bool:
        return self._done and self._pending is None

    def __aiter__(self) -> AiohttpStream:
        return self

    async def __anext__(self) -> bytes:
        if self._pending is not None:
            chunk, self._pending = self._pending, None
            self._release_at_eof()
            return chunk
        if self._done:
            raise StopAsyncIteration
        try:
            chunk = await self._response.content.readany()
        except asyncio.CancelledError:
            self._finish(reusable=False)
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._finish(reusable=False)
            broken = session.translate_in_stream(self._provider, exc, idle_s=self._idle_s)
            raise self._redact(broken) from exc
        if not chunk:
            self._finish(reusable=True)
            raise StopAsyncIteration
        self._release_at_eof()
        return chunk

    def _release_at_eof(self) -> None:
        """When the body's end has already arrived, give the connection back now instead of after one more read."""
        if self._response.content.at_eof():
            self._finish(reusable=True)

    async def aclose(self) -> None:
        """Stop relaying; an unfinished body cannot be reused, so its connection is dropped."""
        self._pending = None
        self._finish(reusable=False)

    def _finish(self, *, reusable: bool) -> None:
        if self._done:
            return
        self._done = True
        if reusable:
            self._response.release()
        else:
            self._response.close()
