"""Requests over pooled keep-alive connections, one client per provider.

A connection goes back to the pool only when its response was read to the end and both sides keep it open; an
idle one is dropped after ``keepalive_s`` or as soon as the server closes it. When a pooled connection is closed
by the server before any byte of an answer (its keep-alive ran out as the request went out), the request is sent
once more on a new connection. ``limit`` bounds the connections in
use at once (further requests wait for one). Timeouts other than connecting are the caller's (``asyncio.timeout``
around a call, ``idle_s`` per read); a cancelled or failed request closes its connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import urllib.parse
from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from gateway.providers.http1 import errors
from gateway.providers.http1.connection import Connection

Origin = tuple[str, str, int]  # scheme, host, port
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TARGET_CACHE = 256


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    origin: Origin
    host_header: bytes
    path: bytes  # path and query, as sent on the request line


def parse_target(url: str) -> Target:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise errors.InvalidRequest(f"invalid URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidRequest(f"invalid URL {url!r}: only http:// and https:// URLs with a host are supported")
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        return Target(
            (parts.scheme, host, port or (443 if parts.scheme == "https" else 80)),
            netloc.encode("idna") if not netloc.isascii() else netloc.encode(),
            path.encode("ascii"),
        )
    except UnicodeError as exc:
        raise errors.InvalidRequest(f"invalid URL {url!r}: {exc}") from exc


def request_head(method: str, target: Target, headers: Mapping[str, str], length: int | None, agent: bytes) -> bytes:
    """The request line and header block; framing headers are the client's own, line breaks are refused."""
    lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), target.path, target.host_header)]
    has_agent = False
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _FRAMING:
            continue
        has_agent = has_agent or lowered == "user-agent"
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise errors.InvalidRequest(f"header {name!r} cannot be sent: it holds a line break or a colon")
        try:
            lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError as exc:
            raise errors.InvalidRequest(f"header {name!r} cannot be sent: {exc}") from exc
    if not has_agent:
        lines.append(b"User-Agent: %s\r\n" % agent)
    if length is not None:
        lines.append(b"Content-Length: %d\r\n" % length)
    lines.append(b"\r\n")
    return b"".join(lines)


class Response:
    """A response whose head has arrived; its body is read with ``read_some`` or ``read``, then released."""

    def __init__(self, client: Client, origin: Origin, conn: Connection, status: int, headers: CIMultiDict[str]):
        self.status = status
        self.headers = CIMultiDictProxy(headers)
        self._client = client
        self._origin = origin
        self._conn: Connection | None = conn

    @property
    def at_eof(self) -> bool:
        """Whether the whole body has arrived and been read."""
        return self._conn is None or self._conn.at_eof

    async def read_some(self, idle_s: float | None = None) -> bytes:
        """The next piece of the body (what has arrived), ``b""`` at its end; waits at most ``idle_s`` for bytes."""
        if self._conn is None:
            return b""
        return await self._conn.read_some(idle_s)

    async def read_all(self, cap: int) -> bytes:
        """The whole body; raises ``BodyTooLarge`` once it, or its declared length, passes ``cap`` bytes."""
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise errors.BodyTooLarge(cap)
        parts: list[bytes] = []
        size = 0
        while part := await self.read_some():
            size += len(part)
            if size > cap:
                raise errors.BodyTooLarge(cap)
            parts.append(part)
        return b"".join(parts)

    async def read(self, limit: int | None = None) -> bytes:
        """The body, or its first ``limit`` bytes (the rest is left unread)."""
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            part = await self.read_some()
            if not part:
                break
            parts.append(part)
            size += len(part)
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    def release(self) -> None:
        """Hand the connection back (kept for reuse only if the body was read to its end); idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._client.give_back(self._origin, conn)


@dataclasses.dataclass(slots=True)
class Progress:
    """How far one request got: ``sent`` once its bytes were handed to a connection (the server may have them)."""

    sent: bool = False


class Client:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        limit: int = 1024,
        keepalive_s: float = 30.0,
        user_agent: str = "tokenhub",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._keepalive_s = keepalive_s
        self._agent = user_agent.encode()
        self._ssl = ssl_context
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[Origin, list[Connection]] = {}
        self._targets: dict[str, Target] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b"", progress: Progress | None = None
    ) -> Response:
        """Send the request and wait for the response's head (not its body); ``progress`` notes when it went out."""
        if self._closed:
            raise errors.InvalidRequest("the client is closed")
        target = self._target(url)
        head = request_head(method, target, headers, len(body) if body or method != "GET" else None, self._agent)
        await self._slots.acquire()
        conn = self._pooled(target.origin)
        try:
            while True:
                reused = conn is not None
                if conn is None:
                    conn = await self._connect(target.origin)
                try:
                    conn.send(head, body)
                    if progress is not None:
                        progress.sent = True
                    status, raw_headers = await conn.read_head()
                    break
                except errors.ConnectionClosed:
                    if not reused or conn.received_any:
                        raise
                    # The server closed the idle connection as the request went out (its keep-alive ran out):
                    # it read nothing of it, so the request goes once more, on a new connection.
                    conn.close()
                    conn = None
                    if progress is not None:
                        progress.sent = False
        except BaseException:
            if conn is not None:
                conn.close()
            self._slots.release()
            raise
        return Response(self, target.origin, conn, status, CIMultiDict(raw_headers))

    def give_back(self, origin: Origin, conn: Connection) -> None:
        self._slots.release()
        if conn.reusable and not self._closed:
            conn.finish()
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()

    async def close(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            target = parse_target(url)
            if len(self._targets) < _TARGET_CACHE:
                self._targets[url] = target
        return target

    def _pooled(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        oldest_usable = asyncio.get_running_loop().time() - self._keepalive_s
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed by the server
            if conn.usable and conn.idle_since > oldest_usable:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: Origin) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop), host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError as exc:
            raise errors.ConnectError(host, port, f"timed out after {self._connect_timeout_s:g}s") from exc
        except OSError as exc:
            raise errors.ConnectError(host, port, str(exc) or type(exc).__name__) from exc
        return conn
