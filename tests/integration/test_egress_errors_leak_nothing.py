"""What a client sees when egress fails: a refused address, a port nobody listens on, a hostile upstream whose
error pages name internal hosts. Each answer names the provider and what went wrong - never an upstream host,
port or address, nor a body that is not the provider's own error message - and a refusal by the gateway's own
egress policy happens before any connection and leaves the provider's health untouched."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
import pytest_asyncio

from gateway.config import egress, snapshot
from gateway.providers import session
from gateway.providers.http1 import dialing
from gateway.serving import routing_tables
from tests.fakes import raw_http
from tests.plugins.gateway import Gateway

INTERNAL = ("10.0.3.7", "8000", "vllm-internal.svc", "169.254.169.254")
HTML_PAGE = b"<html><h1>502 Bad Gateway</h1>nginx: upstream 10.0.3.7:8000 (vllm-internal.svc) refused</html>"
JSON_WITHOUT_MESSAGE = b'{"backend": "10.0.3.7:8000", "host": "vllm-internal.svc"}'


class EchoingUpstream(raw_http.LoopbackServer):
    """Answers every request with ``status`` and ``body`` (what a misconfigured proxy in front of a provider sends)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.reply = b"HTTP/1.1 %d Oops\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await raw_http.read_request(reader)
            writer.write(self.reply)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


RESOLVED: dict[str, list[dialing.Address]] = {
    "metadata.test": [(socket.AF_INET, "169.254.169.254")],
    "rebind.test": [(socket.AF_INET, "93.184.216.34"), (socket.AF_INET6, "fd00:ec2::254")],
}
asked: list[str] = []


async def stub_resolver(host: str, port: int) -> Sequence[dialing.Address]:
    asked.append(host)
    return RESOLVED[host]


@pytest.fixture
def gateway_client_factory() -> session.ClientFactory:
    return session.client_factory(
        session.Egress(policy=egress.Policy.parse(egress.LOOPBACK_ALLOW, None), resolver=stub_resolver)
    )


@pytest_asyncio.fixture
async def html_upstream() -> AsyncIterator[EchoingUpstream]:
    async with EchoingUpstream(502, HTML_PAGE) as upstream:
        yield upstream


@pytest_asyncio.fixture
async def json_upstream() -> AsyncIterator[EchoingUpstream]:
    async with EchoingUpstream(503, JSON_WITHOUT_MESSAGE) as upstream:
        yield upstream


PROVIDER = """
---
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: {name}}}
spec: {{type: vllm, endpoints: ["{url}"], timeoutSeconds: 5, healthCheck: {{enabled: false}}}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: {name}-model}}
spec: {{providerRef: {name}, upstreamModel: m, contextWindow: 8192, pricing: {{inputPer1K: 0, outputPer1K: 0}},
        capabilities: [chat]}}
"""


async def _ask(gateway: Gateway, model: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {gateway.key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )


def _assert_nothing_internal(text: str, *extra: str) -> None:
    for leak in (*INTERNAL, *extra):
        assert leak not in text, (leak, text)


async def test_error_pages_and_bodies_without_a_message_are_not_shown(
    gateway: Gateway, html_upstream: EchoingUpstream, json_upstream: EchoingUpstream
) -> None:
    manifests = PROVIDER.format(name="html", url=f"http://127.0.0.1:{html_upstream.port}/v1")
    manifests += PROVIDER.format(name="json", url=f"http://127.0.0.1:{json_upstream.port}/v1")
    await gateway.until_revision(await gateway.apply(manifests))
    for model, upstream in (("html-model", html_upstream), ("json-model", json_upstream)):
        resp = await _ask(gateway, model)
        assert resp.status_code == 502, resp.text
        assert "default/" in resp.text  # the provider is named
        _assert_nothing_internal(resp.text, str(upstream.port), "127.0.0.1")
    assert "not JSON" in (await _ask(gateway, "html-model")).text


async def test_a_port_nobody_listens_on_is_a_connect_failure_without_the_address(gateway: Gateway) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    await gateway.until_revision(await gateway.apply(PROVIDER.format(name="gone", url=f"http://127.0.0.1:{closed}/v1")))
    resp = await _ask(gateway, "gone-model")
    assert resp.status_code == 502, resp.text
    assert "connection refused" in resp.text
    _assert_nothing_internal(resp.text, str(closed), "127.0.0.1")


@pytest.mark.parametrize("host", ["metadata.test", "rebind.test"])
async def test_a_name_resolving_to_a_refused_address_is_refused_before_connecting_and_not_held_against_it(
    gateway: Gateway, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    asked.clear()
    name = host.split(".", maxsplit=1)[0]
    await gateway.until_revision(await gateway.apply(PROVIDER.format(name=name, url=f"http://{host}:8000/v1")))
    with caplog.at_level(logging.WARNING, logger="gateway.providers.transport"):
        for _ in range(5):  # more failures than any circuit allows, were they the provider's
            resp = await _ask(gateway, f"{name}-model")
            assert resp.status_code == 502, resp.text
            body = resp.json()["error"]
            assert body["code"] == "egress_denied"
            assert "egress policy" in body["message"] and f"default/{name}" in body["message"]
            _assert_nothing_internal(resp.text, host, "8000", "fd00:ec2")
    assert asked == [host] * 5  # resolved, judged, refused: no address was ever dialled (none exists here)
    health = gateway.runtime.routing.health.get(routing_tables.provider_key(snapshot.Ref("Provider", "default", name)))
    assert health is None or (health.consecutive_failures == 0 and health.error_rate == 0.0)
    assert any(f"default/{name}" in r.getMessage() and "egress_denied" in r.getMessage() for r in caplog.records)
