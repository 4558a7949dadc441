"""Upstream LLM providers: thin adapters over a lean HTTP/1.1 client that move wire-format bytes and classify failures.

`base` holds the seam (ProviderConfig, UpstreamRequest, ProviderAdapter), `errors` the failure tree,
`registry.create_adapter(config)` builds an adapter; `wire` translates formats without I/O. Importing this
package loads no HTTP client, so the pure `wire` modules stay cheap to import.
"""

from gateway.providers import base, errors

__all__ = ["base", "errors"]
