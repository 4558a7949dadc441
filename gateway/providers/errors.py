"""Upstream failures, classified by what the caller can do next (retry elsewhere, escalate, final, broken).

``sent`` says whether the request had been handed to a connection when it failed: after that the provider may
have read it and billed it (the serving layer charges such attempts by estimate), before it nothing was spent.

UpstreamError                 provider, status, message, retry_after, body; ClassVar error_class
├── RateLimited               "rate_limited"      429, Anthropic 529 overloaded: retry elsewhere, cool down
├── Transient                 "transient"         5xx, 408, timeouts, resets
│   ├── ConnectFailed         "transient"         the request never left (refused, DNS, connect timeout)
│   └── MalformedResponse     "malformed_response" a 2xx the gateway cannot use: not JSON, cut mid-JSON, past the
│                                                 body cap, usage counts that are no counts
├── ContextOverflow           "context_overflow"  413, or 4xx saying the prompt is too long: escalate
├── AuthFailed                "auth"              401/403: this provider's credential is wrong
├── BadRequest                "bad_request"       other 4xx: the client's fault, final
├── Fatal                     "fatal"             anything else (3xx, bad URL, unknown client errors)
└── StreamBroken              "stream_broken"     the stream failed after its first byte was delivered
"""

from __future__ import annotations

from typing import ClassVar


class UpstreamError(Exception):
    """Base of every upstream failure; `str()` is safe to log (credentials are redacted by the adapters)."""

    error_class: ClassVar[str] = "upstream"
    sent: bool = False  # the request was handed to a connection: the provider may have read and billed it

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r})"
        )


class RateLimited(UpstreamError):
    error_class: ClassVar[str] = "rate_limited"


class Transient(UpstreamError):
    error_class: ClassVar[str] = "transient"


class ConnectFailed(Transient):
    """No byte of the request reached the upstream, so resending it anywhere is safe."""


class MalformedResponse(Transient):
    """A success status with a body the gateway cannot use; another provider may answer well, this one won't soon."""

    error_class: ClassVar[str] = "malformed_response"


class ContextOverflow(UpstreamError):
    error_class: ClassVar[str] = "context_overflow"


class AuthFailed(UpstreamError):
    error_class: ClassVar[str] = "auth"


class BadRequest(UpstreamError):
    error_class: ClassVar[str] = "bad_request"


class Fatal(UpstreamError):
    error_class: ClassVar[str] = "fatal"


class StreamBroken(UpstreamError):
    error_class: ClassVar[str] = "stream_broken"
