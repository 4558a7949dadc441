"""Request headers for an upstream call, layered: defaults < static config < client pass-through < ours.

Names are lower-cased so a layer replaces, never duplicates, an earlier one. Pass-through can never set
credentials, framing or the request id: those belong to the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.providers import base

_RESERVED = frozenset(
    {
        "authorization",
        "x-api-key",
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "cookie",
        "accept",
        "accept-encoding",
        "x-request-id",
    }
)


def layered(config: base.ProviderConfig, defaults: Mapping[str, str]) -> dict[str, str]:
    """Headers that do not change between requests: provider defaults, then the config's static extras."""
    merged = {name.lower(): value for name, value in defaults.items()}
    merged.update((name.lower(), value) for name, value in config.headers if name.lower() not in _RESERVED)
    return merged


def for_request(static: Mapping[str, str], auth: Mapping[str, str], req: base.UpstreamRequest) -> dict[str, str]:
    merged = dict(static)
    merged.update((name.lower(), value) for name, value in req.headers if name.lower() not in _RESERVED)
    merged.update(auth)
    merged["content-type"] = "application/json"
    merged["x-request-id"] = req.request_id
    merged["accept"] = "text/event-stream" if req.stream else "application/json"
    merged["accept-encoding"] = "identity"  # the client decodes no content encoding; bodies are small or streamed
    return merged


def probe_headers(static: Mapping[str, str], auth: Mapping[str, str]) -> dict[str, str]:
    return {**static, **auth, "accept": "application/json"}


def bearer(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}
