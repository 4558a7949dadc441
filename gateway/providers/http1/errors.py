"""Failures of the HTTP/1.1 client, by what they mean for resending the request."""

from __future__ import annotations


class HttpError(Exception):
    """Base of the client's failures."""


class ConnectError(HttpError):
    """No connection could be opened: nothing was sent, so the request may go elsewhere."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot connect to {host}:{port}: {reason}")
        self.host = host
        self.port = port


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
