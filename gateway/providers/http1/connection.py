"""One keep-alive HTTP/1.1 connection as an asyncio protocol: write a request, read its response as it arrives.

Parsing is httptools' (llhttp, the parser uvicorn uses). Body bytes are buffered as they arrive and handed out in
whatever pieces are there (``read_some``), so a relayed stream costs one wake-up per network read, not per event;
reading pauses while more than ``HIGH_WATER`` bytes wait for the consumer. A wait for data arms a timer only when
nothing is buffered, which is where an idle limit is needed. The head is bounded as it arrives: every byte received
without a byte of body counts against ``MAX_HEADER_BYTES`` (an endless header or trailer line, or endless small
headers, is refused at the limit instead of being buffered by the parser).
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

from gateway.providers.http1 import errors

HIGH_WATER = 1 << 20
MAX_HEADER_BYTES = 64 << 10  # a response head larger than this is refused, not buffered
_HEAD_TOO_LARGE = f"the response head (or its trailers) is larger than {MAX_HEADER_BYTES} bytes"


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._body: list[bytes] = []
        # httptools calls on_body once per HTTP chunk (an SSE stream sends one per event): the list's own append,
        # with no Python frame; the buffered size is counted per network read in data_received instead.
        self.on_body = self._body.append
        self._buffered = 0
        self._paused = False
        self._header_names: list[bytes] = []
        self._header_values: list[bytes] = []
        self._header_bytes = 0  # names and values of the completed headers
        self._unframed = 0  # bytes received since the last body byte (or since the request): head, trailers
        self._head = False
        self._complete = False
        self._close_delimited = False
        self._keep_alive = False
        self.received_any = False  # whether any byte of the current response arrived
        self.idle_since = 0.0

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._complete:
            self.close()  # bytes nobody asked for: the connection cannot be trusted with another request
            return
        self.received_any = True
        pieces = len(self._body)
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            own = exc.__context__  # what a callback of ours raised (the head-size limit), if it was one
            self._fail(own if isinstance(own, errors.ProtocolError) else errors.ProtocolError(f"invalid HTTP: {exc}"))
            self.close()
            return
        if len(self._body) > pieces:  # this read carried body bytes
            self._unframed = 0
            self._buffered += len(data)
            if self._buffered > HIGH_WATER and not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()
        else:  # head, chunk framing or trailers only: what the parser may be holding
            self._unframed += len(data)
            if self._unframed > MAX_HEADER_BYTES:
                self._fail(errors.ProtocolError(_HEAD_TOO_LARGE))
                self.close()
                return
        self._wake()

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        if self._head and self._close_delimited and exc is None and not self._complete:
            self._complete = True  # a response without a length ends where the connection does
        elif not self._complete:
            reason = f": {exc}" if exc is not None else ""
            self._fail(errors.ConnectionClosed(f"the connection closed before the response was complete{reason}"))
        self._wake()

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_names.append(name)
        self._header_values.append(value)
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise errors.ProtocolError(_HEAD_TOO_LARGE)

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        names = [name.lower() for name in self._header_names]
        chunked = self._parser.get_status_code() not in (204, 304) and b"transfer-encoding" in names
        self._close_delimited = not chunked and b"content-length" not in names
        self._head = True

    def on_message_complete(self) -> None:
        assert self._parser is not None
        self._keep_alive = self._parser.should_keep_alive()
        self._complete = True

    # -- used by the client

    @property
    def usable(self) -> bool:
        """Open and idle: fit for the next request."""
        return self._transport is not None and not self._transport.is_closing() and self._parser is None

    @property
    def reusable(self) -> bool:
        """The response was read to its end and both sides keep the connection open."""
        return self._complete and self._keep_alive and not self._body and self._transport is not None

    @property
    def complete(self) -> bool:
        """The whole response has arrived (though some of its body may still be buffered)."""
        return self._complete

    @property
    def at_eof(self) -> bool:
        return self._complete and not self._body

    def send(self, head: bytes, body: bytes) -> None:
        assert self._parser is None, "one request at a time"
        if self._transport is None or self._transport.is_closing():
            raise errors.ConnectionClosed("the connection closed before the request was sent")
        self._parser = httptools.HttpResponseParser(self)
        self._failure = None
        self._unframed = 0
        self.received_any = False
        if body:
            self._transport.writelines((head, body))
        else:
            self._transport.write(head)

    async def read_head(self) -> tuple[int, list[tuple[str, str]]]:
        while not self._head:
            await self._wait(None)
        assert self._parser is not None
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in zip(self._header_names, self._header_values, strict=True)
        ]
        return self._parser.get_status_code(), headers

    async def read_some(self, idle_s: float | None = None) -> bytes:
        """The body bytes that have arrived (waiting up to ``idle_s`` for some); ``b""`` once the body is over."""
        while not self._body:
            if self._complete:
                return b""
            await self._wait(idle_s)
        body = self._body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()  # the same list: on_body is bound to its append
        self._buffered = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    def finish(self) -> None:
        """Ready the connection for its next request (only after a complete response)."""
        self._parser = None
        self._header_names = []
        self._header_values = []
        self._header_bytes = 0
        self._head = self._complete = self._keep_alive = False

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # -- waiting

    async def _wait(self, idle_s: float | None) -> None:
        if self._failure is not None:
            raise self._failure
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(idle_s, self._expire, waiter) if idle_s is not None else None
        try:
            await waiter  # woken by new bytes or the connection's end; the caller looks again at what it waits for
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
