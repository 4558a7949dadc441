"""An upstream response body relayed chunk by chunk, exactly as the socket delivers it (no re-chunking).

The first chunk is read before the stream is handed out, so a failure up to that point is still an ordinary
error the caller can fail over from; after it, a cut connection or a read idle longer than the provider's
timeout raises `StreamBroken`. The idle clock runs only while the stream waits for the upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from gateway.providers import errors, session
from gateway.providers.http1 import client as http1
from gateway.providers.http1 import errors as http_errors


class Http1Stream:
    """`base.UpstreamStream` over an open response whose first body chunk is already in hand."""

    def __init__(
        self,
        response: http1.Response,
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
        self._done = False
        self._provider = provider
        self._idle_s = idle_s
        self._redact = redact
        if response.at_eof:
            self._finish()  # the whole body came with the first read

    @property
    def complete(self) -> bool:
        return self._done

    @property
    def exhausted(self) -> bool:
        return self._done and self._pending is None

    async def __aenter__(self) -> Http1Stream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Http1Stream:
        return self

    async def __anext__(self) -> bytes:
        if self._pending is not None:
            chunk, self._pending = self._pending, None
        elif self._done:
            raise StopAsyncIteration
        else:
            try:
                chunk = await self._response.read_some(self._idle_s)
            except asyncio.CancelledError:
                self._finish()
                raise
            except (http_errors.HttpError, OSError, TimeoutError) as exc:
                self._finish()
                broken = session.translate_in_stream(self._provider, exc, idle_s=self._idle_s)
                raise self._redact(broken) from exc
            if not chunk:
                self._finish()
                raise StopAsyncIteration
        if self._response.at_eof:
            self._finish()  # the end has already arrived: the connection goes back now, not after one more read
        return chunk

    async def aclose(self) -> None:
        """Stop relaying; an unfinished body cannot be reused, so its connection is dropped."""
        self._pending = None
        self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._response.release()  # kept for reuse only when the body was read to its end
