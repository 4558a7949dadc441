"""The HTTP/1.1 connection: uvicorn's httptools protocol with a deadline and a size cap on every request head.

uvicorn with httptools bounds neither: a silent fresh connection is never timed out, a header byte every few
seconds keeps resetting its keep-alive timer, and the parser buffers a header of any length. Here a fresh
connection must start a head, and a head must end, within ``header_timeout_s``, in at most ``MAX_HEAD_BYTES`` (else
408/431 in the client's API shape, then close); the unread body of an answered request (a 401 to an upload) must be
through within ``body_timeout_s``. All run on the shared coarse clock of ``deadlines.py``, no timer per request.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Callable
from typing import Any, ClassVar

import uvicorn
import uvicorn.server
from uvicorn.protocols.http import httptools_impl

from gateway.api import deadlines, inbound
from gateway.serving import errors

MAX_HEAD_BYTES = 64 * 1024

Cut = Callable[[str, str, errors.RequestFailed | None], bytes]
"""Counts a connection cut for ``reason`` and, given the failure of a request with path ``path`` (empty when the
head never got that far), logs that request and returns the body of its answer."""


class GuardedProtocol(httptools_impl.HttpToolsProtocol):
    """One connection; ``protocol_class`` binds a gateway's limits, its deadlines and its ``cut`` callback."""

    limits: ClassVar[inbound.Limits]
    heads: ClassVar[deadlines.Deadlines]  # head deadlines of every connection of the gateway (coarse clock)
    drains: ClassVar[deadlines.Deadlines]  # unread-body deadlines

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: uvicorn.server.ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = True  # between the end of a request (or the connection's start) and the end of the next head
        self._head_started = False
        self._head_bytes = 0
        self._head_deadline: deadlines.Deadline | None = None
        self._drain_deadline: deadlines.Deadline | None = None

    def cut(self, reason: str, path: str, failure: errors.RequestFailed | None) -> bytes:
        raise NotImplementedError  # bound by protocol_class

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.heads.discard(self._head_deadline)
        self.drains.discard(self._drain_deadline)
        self._head_deadline = self._drain_deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            failure = errors.HeaderTooLarge(f"the request head exceeds {MAX_HEAD_BYTES} bytes")
            self._refuse(inbound.HEADER_TOO_LARGE, failure)

    # parser callbacks, called from within data_received

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        if not self._busy():
            self._arm_head()  # the head gets the whole timeout from its first byte

    def on_headers_complete(self) -> None:
        self._in_head = self._head_started = False
        self._head_bytes = 0
        self.heads.discard(self._head_deadline)
        self._head_deadline = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        if self._drain_deadline is not None:  # the unread body of an answered request is through
            self.drains.discard(self._drain_deadline)
            self._drain_deadline = None
            self._arm_head()  # uvicorn's keep-alive timer was reset by every byte of that body

    def on_response_complete(self) -> None:
        body_pending = not self._in_head  # answered before the whole body arrived
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if body_pending:
            self._drain_deadline = self.drains.add(self._drain_expired)
        elif self._head_started:  # a pipelined head that began while this response was written
            self._arm_head()
        # else the connection idles between requests: uvicorn's keep-alive timer closes it quietly

    # deadlines

    def _arm_head(self) -> None:
        self.heads.discard(self._head_deadline)
        self._head_deadline = self.heads.add(self._head_expired)

    def _busy(self) -> bool:
        """Whether a response is still being written: then it is not the client's turn to be late."""
        return self.cycle is not None and not self.cycle.response_complete

    def _head_expired(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or not self._in_head:
            return
        if self._busy():
            self._arm_head()
            return
        if not self._head_started:  # a silent connection: nothing to answer
            self.cut(inbound.HEADER_TIMEOUT, "", None)
            self.transport.close()
            return
        timeout = self.limits.header_timeout_s
        failure = errors.RequestTimeout(f"the request head did not arrive within {timeout:g} s")
        self._refuse(inbound.HEADER_TIMEOUT, failure)

    def _drain_expired(self) -> None:
        self._drain_deadline = None
        if not self.transport.is_closing():
            self.cut(inbound.BODY_TIMEOUT, "", None)
            self.transport.close()

    def _refuse(self, reason: str, failure: errors.RequestFailed) -> None:
        """Answer a request whose head is incomplete (unless a response is being written), then close."""
        if self._busy():
            self.cut(reason, "", None)
            self.transport.close()
            return
        path = self.url.partition(b"?")[0].decode("latin-1") if self._head_started else ""
        body = self.cut(reason, path, failure)
        status = http.HTTPStatus(failure.status)
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()


def protocol_class(limits: inbound.Limits, cut: Cut) -> type[GuardedProtocol]:
    """The protocol class to hand to ``uvicorn.Config(http=...)``, bound to one gateway's limits and ``cut``."""

    class Bound(GuardedProtocol):
        def cut(self, reason: str, path: str, failure: errors.RequestFailed | None) -> bytes:
            return cut(reason, path, failure)

    Bound.limits = limits
    Bound.heads = deadlines.Deadlines(limits.header_timeout_s)
    Bound.drains = deadlines.Deadlines(limits.body_timeout_s)
    return Bound
