"""The pooled HTTP client of one provider, and the translation of its failures into `errors`.

`http1.Client` rather than aiohttp or httpx: a streamed upstream call costs about a fifth of the CPU (measured in
`gateway/providers/http1`). Clients keep no cookies (one upstream client serves every tenant), use no proxies from
the environment and never follow redirects, so a credential header is never replayed to another host.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.providers import base, errors
from gateway.providers.http1 import client as http1
from gateway.providers.http1 import errors as http_errors

ClientFactory = Callable[[base.ProviderConfig], http1.Client]

CONNECTION_LIMIT = 1024  # concurrent upstream connections per provider; keep-alive reuses them
KEEPALIVE_S = 30.0


def default_client(config: base.ProviderConfig) -> http1.Client:
    return http1.Client(connect_timeout_s=config.connect_timeout_s, limit=CONNECTION_LIMIT, keepalive_s=KEEPALIVE_S)


def translate(provider: str, exc: BaseException, *, timeout_s: float) -> errors.UpstreamError:
    """The `errors` class for a failure before a response was complete."""
    if isinstance(exc, http_errors.ConnectError):
        return errors.ConnectFailed(provider, f"{provider}: {exc}")
    if isinstance(exc, TimeoutError):
        return errors.Transient(provider, f"{provider}: no response within {timeout_s:g}s")
    if isinstance(exc, http_errors.InvalidRequest):
        return errors.Fatal(provider, f"{provider}: {exc}")
    if isinstance(exc, http_errors.ConnectionClosed | OSError):
        return errors.Transient(provider, f"{provider}: connection failed: {exc}")
    if isinstance(exc, http_errors.ProtocolError):
        return errors.Fatal(provider, f"{provider}: {exc}")
    return errors.Fatal(provider, f"{provider}: upstream client error: {exc} ({type(exc).__name__})")


def translate_in_stream(provider: str, exc: BaseException, *, idle_s: float) -> errors.StreamBroken:
    """The failure of a stream after its first byte: a cut connection or a read that stalled."""
    if isinstance(exc, TimeoutError):
        return errors.StreamBroken(provider, f"{provider}: stream stalled for {idle_s:g}s")
    return errors.StreamBroken(provider, f"{provider}: stream cut: {exc}")
