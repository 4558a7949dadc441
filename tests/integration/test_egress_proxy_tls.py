"""Upstream calls through a real forward proxy (proxy.py, with Basic auth) to a TLS upstream on loopback whose
certificate a throwaway CA signed: the Provider's CA bundle is what makes it trusted, HTTPS_PROXY what routes it,
NO_PROXY what bypasses it; a proxy that refuses, or a certificate nobody vouches for, is a classified error whose
text names no host, port, proxy URL or password."""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
import trustme

from gateway import settings as settings_mod
from gateway.config import egress
from gateway.providers import base, errors, session
from gateway.providers.http1 import errors as http_errors
from gateway.providers.http1 import proxy
from tests.fakes import fixtures as fake_fixtures
from tests.fakes import upstreams
from tests.plugins.gateway import Gateway

PROXY_USER, PROXY_PASSWORD = "egress-user", "s3cret-proxy-pass"
PRIVATE_KEY = "sk-private-endpoint"


@dataclasses.dataclass(frozen=True)
class RunningProxy:
    port: int
    log: pathlib.Path

    def url(self, password: str = PROXY_PASSWORD) -> str:
        return f"http://{PROXY_USER}:{password}@127.0.0.1:{self.port}"

    def connects(self) -> list[str]:
        """The CONNECT targets in the proxy's access log (written when a tunnel closes)."""
        return re.findall(r" - CONNECT (\S+) - ", self.log.read_text())

    async def logged_connects(self, count: int) -> list[str]:
        """The CONNECT targets once ``count`` are logged (10 s at most)."""
        for _ in range(200):
            if len(found := self.connects()) >= count:
                return found
            await asyncio.sleep(0.05)
        return self.connects()


@pytest.fixture
def forward_proxy(tmp_path: pathlib.Path) -> Iterator[RunningProxy]:
    port_file, log = tmp_path / "proxy.port", tmp_path / "proxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(
                    sys.executable,
                    "-m",
                    "proxy",
                    "--hostname",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--port-file",
                    str(port_file),
                ),
                *("--num-acceptors", "1", "--num-workers", "1", "--basic-auth", f"{PROXY_USER}:{PROXY_PASSWORD}"),
                *("--log-level", "INFO"),
            ],
            stdout=out,
            stderr=out,
        )
    try:
        for _ in range(300):  # 15 s at most for the interpreter and its plugins to load
            if port_file.exists() and port_file.read_text().strip():
                break
            if proc.poll() is not None:
                raise AssertionError(f"proxy.py exited: {log.read_text()}")
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            raise AssertionError("proxy.py did not write its port file")
        yield RunningProxy(int(port_file.read_text()), log)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest_asyncio.fixture
async def tls_upstream(authority: trustme.CA) -> AsyncIterator[upstreams.OpenAIUpstream]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    async with upstreams.OpenAIUpstream(api_key=PRIVATE_KEY, tls=context) as fake:
        yield fake


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings, forward_proxy: RunningProxy) -> settings_mod.Settings:
    return dataclasses.replace(
        gateway_settings,
        https_proxy=forward_proxy.url(),
        no_proxy="localhost",  # 127.0.0.1 is not bypassed: the TLS upstream is reached through the tunnel
    )


PRIVATE = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: private}}
spec:
  type: openai-compatible
  baseURL: "{url}"
  apiKeySecretRef: {{name: private-creds}}
  {bundle}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: private-gpt}}
spec: {{providerRef: private, upstreamModel: gpt-4o-mini, contextWindow: 128000,
        pricing: {{inputPer1K: 0.001, outputPer1K: 0.002}}, capabilities: [chat]}}
"""


async def _add_private(gateway: Gateway, upstream: upstreams.OpenAIUpstream, ca_pem: bytes | None) -> None:
    secrets = gateway.secrets.directory
    (secrets / "private-creds").mkdir(parents=True, exist_ok=True)
    (secrets / "private-creds" / "apiKey").write_text(PRIVATE_KEY)
    bundle = ""
    if ca_pem is not None:
        (secrets / "private-ca").mkdir(parents=True, exist_ok=True)
        (secrets / "private-ca" / "ca.crt").write_bytes(ca_pem)
        bundle = "caBundleSecretRef: {name: private-ca, key: ca.crt}"
    await gateway.until_revision(await gateway.apply(PRIVATE.format(url=upstream.url, bundle=bundle)))


async def _chat(gateway: Gateway) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(
            f"{gateway.base_url}/chat/completions",
            headers={"Authorization": f"Bearer {gateway.key}"},
            json={"model": "private-gpt", "messages": [{"role": "user", "content": "hi"}]},
        )


async def test_a_provider_with_its_ca_bundle_is_reached_through_the_proxy_tunnel(
    gateway: Gateway, tls_upstream: upstreams.OpenAIUpstream, authority: trustme.CA, forward_proxy: RunningProxy
) -> None:
    await _add_private(gateway, tls_upstream, authority.cert_pem.bytes())
    resp = await _chat(gateway)
    assert resp.status_code == 200, resp.text
    assert len(tls_upstream.requests) == 1
    assert tls_upstream.requests[0].headers["Authorization"] == f"Bearer {PRIVATE_KEY}"
    await tls_upstream.close()  # ends the tunnel, which is when the proxy logs it
    assert await forward_proxy.logged_connects(1) == [f"127.0.0.1:{tls_upstream.port}"]


async def test_without_the_ca_bundle_the_certificate_is_refused_and_the_client_sees_no_address(
    gateway: Gateway, tls_upstream: upstreams.OpenAIUpstream, forward_proxy: RunningProxy
) -> None:
    await _add_private(gateway, tls_upstream, None)
    resp = await _chat(gateway)
    assert resp.status_code == 502, resp.text
    assert "TLS handshake failed" in resp.text
    for leak in ("127.0.0.1", str(tls_upstream.port), str(forward_proxy.port), PROXY_PASSWORD, PROXY_USER):
        assert leak not in resp.text
    assert tls_upstream.requests == []


def _config(url: str) -> base.ProviderConfig:
    return base.ProviderConfig("team/private", "openai", (url,), None, timeout_s=10)


async def _post(egress_: session.Egress, url: str, ca_pem: bytes | None = None) -> int:
    config = dataclasses.replace(_config(url), ca_bundle=ca_pem.decode() if ca_pem else None)
    client = session.client_factory(egress_)(config)
    try:
        headers = {"Authorization": f"Bearer {fake_fixtures.OPENAI_KEY}", "Content-Type": "application/json"}
        body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
        resp = await client.request("POST", url + "/chat/completions", headers, body)
        await resp.read()
        resp.release()
        return resp.status
    finally:
        await client.close()


LOOPBACK = egress.Policy.parse(egress.LOOPBACK_ALLOW, None)


@pytest.mark.parametrize("password", ["wrong-password", None])
async def test_a_proxy_that_refuses_the_tunnel_is_a_proxy_failure_naming_no_credentials(
    tls_upstream: upstreams.OpenAIUpstream, authority: trustme.CA, forward_proxy: RunningProxy, password: str | None
) -> None:
    via = forward_proxy.url(password) if password else f"http://127.0.0.1:{forward_proxy.port}"
    rules = session.Egress(policy=LOOPBACK, proxies=proxy.ProxyRules.parse(None, via, None))
    with pytest.raises(http_errors.ProxyError) as caught:
        await _post(rules, tls_upstream.url, authority.cert_pem.bytes())
    assert caught.value.status == 407
    shown = session.translate("team/private", caught.value, timeout_s=10)
    assert isinstance(shown, errors.ProxyFailed) and isinstance(shown, errors.GatewaySide)
    assert "HTTP 407" in str(shown)
    for secret in ("wrong-password", PROXY_PASSWORD):
        assert secret not in str(shown) and secret not in repr(shown) and secret not in str(caught.value)
    for where in (str(forward_proxy.port), str(tls_upstream.port), "127.0.0.1"):
        assert where not in str(shown)  # the HTTP client's own error keeps the upstream's address for the log
    assert tls_upstream.requests == []


async def test_a_proxy_that_cannot_reach_the_upstream_is_a_connect_failure(
    forward_proxy: RunningProxy, tls_upstream: upstreams.OpenAIUpstream
) -> None:
    await tls_upstream.close()  # its port is now closed: the proxy answers 502
    rules = session.Egress(policy=LOOPBACK, proxies=proxy.ProxyRules.parse(None, forward_proxy.url(), None))
    with pytest.raises(http_errors.ProxyError) as caught:
        await _post(rules, tls_upstream.url)
    assert caught.value.status == 502
    assert type(session.translate("team/private", caught.value, timeout_s=10)) is errors.ConnectFailed


async def test_plain_http_goes_to_the_proxy_in_absolute_form_and_no_proxy_bypasses_it(
    forward_proxy: RunningProxy, openai_upstream: upstreams.OpenAIUpstream
) -> None:
    def via(password: str, no_proxy: str | None = None) -> session.Egress:
        return session.Egress(
            policy=LOOPBACK, proxies=proxy.ProxyRules.parse(forward_proxy.url(password), None, no_proxy)
        )

    # A plain-http request through a proxy is the proxy's to answer: with a wrong password, its own 407.
    assert await _post(via("wrong-password"), openai_upstream.url) == 407
    assert openai_upstream.requests == []
    assert await _post(via(PROXY_PASSWORD), openai_upstream.url) == 200
    assert [r.path for r in openai_upstream.requests] == ["/v1/chat/completions"]
    assert "proxy.py" in openai_upstream.requests[0].headers.get("Via", "")  # it came through the proxy
    # NO_PROXY covering the upstream: the refusing proxy is never asked.
    assert await _post(via("wrong-password", "127.0.0.0/8"), openai_upstream.url) == 200
    assert len(openai_upstream.requests) == 2
    assert "Via" not in openai_upstream.requests[1].headers


async def test_the_policy_is_judged_on_the_name_before_the_proxy_is_asked(forward_proxy: RunningProxy) -> None:
    rules = session.Egress(proxies=proxy.ProxyRules.parse(None, forward_proxy.url(), None))  # the default policy
    with pytest.raises(http_errors.EgressDenied):
        await _post(rules, "https://169.254.169.254/latest")
    assert forward_proxy.connects() == []
