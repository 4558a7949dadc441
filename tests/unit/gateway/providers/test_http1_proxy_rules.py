"""Which requests go through the forward proxy (NO_PROXY), the CONNECT request, and reading its reply."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.http1 import proxy

RULES = proxy.ProxyRules.parse(
    "http://plain-proxy:3128",
    "http://user%40corp:p%3Ass@tls-proxy:8080",
    "internal.example, .svc, *.corp.example,10.0.0.0/8,192.168.1.7,[::1],only-port.example:8443",
)


@pytest.mark.parametrize(
    ("scheme", "host", "port", "proxied"),
    [
        ("https", "api.openai.com", 443, "tls-proxy"),
        ("http", "api.openai.com", 80, "plain-proxy"),
        ("https", "internal.example", 443, None),
        ("https", "a.b.internal.example", 443, None),  # a bare name covers its subdomains too
        ("https", "notinternal.example", 443, "tls-proxy"),
        ("https", "vllm.models.svc", 443, None),
        ("https", "svc", 443, "tls-proxy"),  # ".svc" is below it only
        ("https", "x.corp.example", 443, None),
        ("https", "corp.example", 443, "tls-proxy"),
        ("https", "10.4.5.6", 443, None),
        ("https", "11.4.5.6", 443, "tls-proxy"),
        ("https", "192.168.1.7", 443, None),
        ("https", "::1", 443, None),
        ("https", "only-port.example", 8443, None),
        ("https", "only-port.example", 443, "tls-proxy"),
    ],
)
def test_no_proxy_entries(scheme: str, host: str, port: int, proxied: str | None) -> None:
    chosen = RULES.for_origin(scheme, host, port)
    assert (chosen.host if chosen else None) == proxied


def test_a_star_bypasses_everything_and_no_variable_means_no_proxy() -> None:
    assert proxy.ProxyRules.parse(None, "http://p:1", "*").for_origin("https", "x.example", 443) is None
    assert proxy.ProxyRules.parse(None, None, None).for_origin("https", "x.example", 443) is None


def test_credentials_become_proxy_authorization_and_never_show() -> None:
    via = RULES.https
    assert via is not None and via.port == 8080
    assert via.authorization == b"Basic " + base64.b64encode(b"user@corp:p:ss")
    assert "p:ss" not in repr(via) and "p%3Ass" not in repr(RULES)
    request = proxy.connect_request("api.example", 443, via)
    assert request.startswith(b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n")
    assert b"Proxy-Authorization: Basic " in request and request.endswith(b"\r\n\r\n")
    assert proxy.connect_request("::1", 8443, proxy.Proxy("p", 1)).startswith(b"CONNECT [::1]:8443 HTTP/1.1")


@pytest.mark.parametrize(
    ("url", "words"),
    [("https://p:1", "http://"), ("socks5://p:1", "http://"), ("http://:8080", "host"), ("http://p:99999", "port")],
)
def test_unusable_proxy_urls_are_refused_without_repeating_them(url: str, words: str) -> None:
    with pytest.raises(proxy.ProxyUrlError, match=words) as caught:
        proxy.Proxy.parse(url.replace("://", "://secret-user:secret-pass@") if "@" not in url else url)
    assert "secret-pass" not in str(caught.value)


def test_a_bare_host_port_is_an_http_proxy() -> None:
    assert proxy.Proxy.parse("squid.egress:3128") == proxy.Proxy("squid.egress", 3128)


def test_the_connect_reply_is_read_once_its_head_is_complete() -> None:
    assert proxy.reply_status(b"HTTP/1.1 200 Connection established\r\n") is None
    assert proxy.reply_status(b"HTTP/1.1 200 Connection established\r\n\r\n") == (200, 39)
    refused = proxy.reply_status(b"HTTP/1.0 407 Proxy Authentication Required\r\nX: y\r\n\r\n")
    assert refused is not None and refused[0] == 407
    with pytest.raises(ValueError, match="not HTTP"):
        proxy.reply_status(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(ValueError, match="longer than"):
        proxy.reply_status(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 5000)


@given(st.binary(max_size=200))
def test_any_reply_bytes_give_a_status_none_or_a_value_error(data: bytes) -> None:
    try:
        found = proxy.reply_status(data)
    except ValueError:
        return
    assert found is None or 100 <= found[0] <= 999
