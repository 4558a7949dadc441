"""The seam between request handling and upstream I/O: configs, requests, responses and the adapter Protocol.

Adapters move bytes already in the provider's wire format and classify failures; they never translate formats
(that is `providers.wire`) nor decide failover (that is `serving` with `routing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

ProviderType = Literal["openai", "openai-compatible", "anthropic", "vllm"]
MAX_BODY_BYTES = 32 << 20  # default cap of a (non-streamed) success body; TOKENHUB_UPSTREAM_MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider as compiled into the config snapshot; adapters never read the environment."""

    name: str
    type: ProviderType
    base_urls: tuple[str, ...]  # each includes the version prefix, e.g. "https://api.openai.com/v1"
    api_key: str | None
    timeout_s: float  # total per attempt (per read once a stream flows); connect is min(timeout_s, 10)
    headers: tuple[tuple[str, str], ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES  # a longer success body is refused (`errors.MalformedResponse`)
    ca_bundle: str | None = None  # PEM certificates the provider's TLS is verified against (instead of the system's)

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return (
            f"ProviderConfig(name={self.name!r}, type={self.type!r}, base_urls={self.base_urls!r}, "
            f"api_key={key}, timeout_s={self.timeout_s!r})"
        )

    @property
    def connect_timeout_s(self) -> float:
        return min(self.timeout_s, 10.0)


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    path: str  # appended to the base URL: "/chat/completions", "/messages", "/embeddings"
    body: bytes  # already in this provider's wire format
    request_id: str  # forwarded as X-Request-Id
    stream: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # client pass-through, e.g. anthropic-version / anthropic-beta


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive when it comes from the HTTP client
    body: bytes
    elapsed_s: float  # time spent waiting on the upstream, connect included


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    status: int | None
    latency_s: float
    error_class: str | None  # an `errors.UpstreamError.error_class` when not ok
    counts: bool = True  # False when the failure was the gateway's own egress (policy, proxy, pool), not the provider


class UpstreamStream(Protocol):
    """Raw body chunks as the socket delivers them; iteration raises `errors.StreamBroken` on a cut or stall."""

    status: int
    headers: Mapping[str, str]
    open_s: float  # from sending the request until the response head
    first_byte_s: float  # from sending the request until the first body chunk

    @property
    def complete(self) -> bool:
        """Whether the whole body is in hand, so that iterating will not wait on the upstream."""
        ...

    @property
    def exhausted(self) -> bool:
        """Whether the body's last chunk has been handed out, so that no further read is needed."""
        ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class ProviderAdapter(Protocol):
    config: ProviderConfig

    async def send(self, req: UpstreamRequest) -> UpstreamResponse:
        """The whole 2xx response; raises an `errors.UpstreamError` subclass otherwise."""
        ...

    async def open_stream(self, req: UpstreamRequest) -> UpstreamStream:
        """A stream whose first chunk has arrived; any failure before that raises an `errors.UpstreamError`."""
        ...

    async def probe(self) -> ProbeResult:
        """A cheap, unbilled health check (GET {base}/models); never raises for upstream failures."""
        ...

    async def close(self) -> None: ...
