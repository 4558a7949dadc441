"""The pooled HTTP client of one provider, and the translation of its failures into `errors`.

`http1.Client` rather than aiohttp or httpx: a streamed upstream call costs about a fifth of the CPU (measured in
`gateway/providers/http1`). Clients keep no cookies (one upstream client serves every tenant) and never follow
redirects, so a credential header is never replayed to another host. What a client may reach is the `Egress`
given by the settings: the address policy (checked on every resolved address before connecting), the forward
proxies from the environment, the pool's wait limit; each provider's TLS trust is its CA bundle, if it has one.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable

from gateway.config import egress
from gateway.providers import base, errors
from gateway.providers.http1 import client as http1
from gateway.providers.http1 import dialing, proxy
from gateway.providers.http1 import errors as http_errors

ClientFactory = Callable[[base.ProviderConfig], http1.Client]

CONNECTION_LIMIT = 1024  # concurrent upstream connections per provider; keep-alive reuses them
KEEPALIVE_S = 30.0
POOL_TIMEOUT_S = 30.0  # default wait for a connection when all CONNECTION_LIMIT are in use
_PROXY_UNREACHABLE_UPSTREAM = frozenset({502, 503, 504})  # the proxy reached no upstream: the provider's failure


@dataclasses.dataclass(frozen=True, slots=True)
class Egress:
    """Where upstream connections may go and how they get there (from ``settings.Settings``)."""

    policy: egress.Policy = dataclasses.field(default_factory=egress.Policy)
    proxies: proxy.ProxyRules = dataclasses.field(default_factory=proxy.ProxyRules)
    pool_timeout_s: float | None = POOL_TIMEOUT_S
    connection_limit: int = CONNECTION_LIMIT
    happy_eyeballs_delay_s: float = dialing.HAPPY_EYEBALLS_DELAY_S
    resolver: dialing.Resolver = dialing.system_resolver

    def guard(self, host: str, address: str | None) -> str | None:
        """`dialing.Guard` over the policy: an address, or the name alone when a proxy resolves it."""
        if address is None:
            return self.policy.host_refusal(host)
        parsed = egress.address_of(address)
        return "an address that is not an IP address" if parsed is None else self.policy.refusal(host, parsed)


def ssl_context(config: base.ProviderConfig) -> ssl.SSLContext | None:
    """The provider's own trust (only its CA bundle) when it has one; None: the client's system default."""
    if config.ca_bundle is None:
        return None
    return ssl.create_default_context(cadata=config.ca_bundle)


def client_factory(egress_: Egress) -> ClientFactory:
    def build(config: base.ProviderConfig) -> http1.Client:
        return http1.Client(
            connect_timeout_s=config.connect_timeout_s,
            limit=egress_.connection_limit,
            keepalive_s=KEEPALIVE_S,
            ssl_context=ssl_context(config),
            pool_timeout_s=egress_.pool_timeout_s,
            resolver=egress_.resolver,
            guard=egress_.guard,
            proxies=egress_.proxies,
            happy_eyeballs_delay_s=egress_.happy_eyeballs_delay_s,
        )

    return build


def default_client(config: base.ProviderConfig) -> http1.Client:
    """A client under the default policy (public hosts and cluster DNS names), without proxies."""
    return client_factory(Egress())(config)


def translate(provider: str, exc: BaseException, *, timeout_s: float) -> errors.UpstreamError:
    """The `errors` class for a failure before a response was complete; its message names no host or port."""
    if isinstance(exc, http_errors.EgressDenied):
        return errors.EgressDenied(provider, f"{provider}: the upstream's address is refused: {exc.category}")
    if isinstance(exc, http_errors.ProxyError) and exc.status not in _PROXY_UNREACHABLE_UPSTREAM:
        return errors.ProxyFailed(provider, f"{provider}: the egress proxy failed: {exc.category}")
    if isinstance(exc, http_errors.ConnectError):
        return errors.ConnectFailed(provider, f"{provider}: cannot connect to the upstream: {exc.category}")
    if isinstance(exc, http_errors.PoolTimeout):
        return errors.PoolTimeout(provider, f"{provider}: {exc}")
    if isinstance(exc, TimeoutError):
        return errors.Transient(provider, f"{provider}: no response within {timeout_s:g}s")
    if isinstance(exc, http_errors.InvalidRequest):
        return errors.Fatal(provider, f"{provider}: {exc}")
    if isinstance(exc, http_errors.ConnectionClosed | OSError):
        return errors.Transient(provider, f"{provider}: the connection closed before the response was complete")
    if isinstance(exc, http_errors.ProtocolError):
        return errors.Fatal(provider, f"{provider}: {exc}")
    return errors.Fatal(provider, f"{provider}: upstream client error ({type(exc).__name__})")


def translate_in_stream(provider: str, exc: BaseException, *, idle_s: float) -> errors.StreamBroken:
    """The failure of a stream after its first byte: a cut connection or a read that stalled."""
    if isinstance(exc, TimeoutError):
        return errors.StreamBroken(provider, f"{provider}: stream stalled for {idle_s:g}s")
    if isinstance(exc, http_errors.ProtocolError):
        return errors.StreamBroken(provider, f"{provider}: stream cut: {exc}")
    return errors.StreamBroken(provider, f"{provider}: stream cut: the connection closed before the end")
