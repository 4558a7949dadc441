"""Failures of the HTTP/1.1 client, by what they mean for resending the request.

HttpError
├── ConnectError        no connection: nothing was sent (``category`` is safe to show; ``str()`` is for logs)
│   ├── EgressDenied    the guard refused an address of the host, before any connect()
│   └── ProxyError      the forward proxy could not be reached or refused the tunnel
├── PoolTimeout         no connection of the pool came free within the pool's wait limit: nothing was sent
├── ConnectionClosed    the connection ended (or was reset) before the response was complete
├── ProtocolError       the upstream's bytes are not valid HTTP/1.1
├── BodyTooLarge        the body is longer than the caller's cap
└── InvalidRequest      the URL or a header cannot be sent
"""

from __future__ import annotations


class HttpError(Exception):
    """Base of the client's failures."""


class ConnectError(HttpError):
    """No connection could be opened: nothing was sent, so the request may go elsewhere.

    ``str()`` names the host and port (for logs); ``category`` says what went wrong without them (for clients).
    """

    def __init__(self, host: str, port: int, reason: str, *, category: str = "connection failed") -> None:
        super().__init__(f"cannot connect to {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.category = category


class EgressDenied(ConnectError):
    def __init__(self, host: str, port: int, address: str, reason: str) -> None:
        super().__init__(host, port, f"address {address} refused: {reason}", category=f"egress policy: {reason}")
        self.address = address
        self.reason = reason


class ProxyError(ConnectError):
    """``status`` is the proxy's answer to CONNECT, or None when the proxy itself could not be reached."""

    def __init__(self, host: str, port: int, reason: str, *, status: int | None = None) -> None:
        shown = f"the proxy answered HTTP {status} to CONNECT" if status is not None else "the proxy cannot be reached"
        super().__init__(host, port, f"through the proxy: {reason}", category=shown)
        self.status = status


class PoolTimeout(HttpError):
    """Every connection the pool may open is in use and none came free in time."""


class ConnectionClosed(HttpError):
    """The connection ended (or was reset) before the response was complete."""


class ProtocolError(HttpError):
    """The upstream's bytes are not valid HTTP/1.1."""


class BodyTooLarge(HttpError):
    """The response body is (or says it is) longer than the caller's cap; the rest was not read."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the response body is larger than {cap} bytes")
        self.cap = cap


class InvalidRequest(HttpError):
    """The URL or a header cannot be sent (unsupported scheme, line breaks in a header, ...)."""
