"""Provider configs and adapters pointed at fake upstreams, closed when the test is done."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from gateway.config import egress
from gateway.providers import base, registry, session
from tests.fakes import upstreams

LOOPBACK = egress.LOOPBACK_ALLOW  # TOKENHUB_PROVIDER_ALLOW for tests: every fake upstream listens on loopback
LOOPBACK_EGRESS = session.Egress(policy=egress.Policy.parse(LOOPBACK, None))


def provider_config(
    fakes: upstreams.FakeUpstream | tuple[upstreams.FakeUpstream, ...],
    provider_type: base.ProviderType,
    *,
    api_key: str | None = None,
    timeout_s: float = 5.0,
    headers: tuple[tuple[str, str], ...] = (),
) -> base.ProviderConfig:
    group = fakes if isinstance(fakes, tuple) else (fakes,)
    return base.ProviderConfig(
        name=f"test/{provider_type}",
        type=provider_type,
        base_urls=tuple(fake.url for fake in group),
        api_key=api_key,
        timeout_s=timeout_s,
        headers=headers,
    )


@contextlib.asynccontextmanager
async def adapter(config: base.ProviderConfig) -> AsyncIterator[base.ProviderAdapter]:
    created = registry.create_adapter(config, session.client_factory(LOOPBACK_EGRESS))
    try:
        yield created
    finally:
        await created.close()
