"""HTTP client and asyncio failures become the upstream error class the caller acts on."""

from __future__ import annotations

import pytest

from gateway.providers import errors, session
from gateway.providers.http1 import errors as http_errors


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (http_errors.ConnectError("upstream.test", 443, "Connection refused"), errors.ConnectFailed),
        (http_errors.ConnectError("upstream.test", 443, "timed out after 2s"), errors.ConnectFailed),
        (TimeoutError(), errors.Transient),
        (http_errors.ConnectionClosed("the connection closed before the response was complete"), errors.Transient),
        (ConnectionResetError(104, "Connection reset by peer"), errors.Transient),
        (http_errors.InvalidRequest("invalid URL 'ftp://x': only http:// and https:// URLs"), errors.Fatal),
        (http_errors.ProtocolError("invalid HTTP response: bad status line"), errors.Fatal),
        (RuntimeError("something unforeseen"), errors.Fatal),
    ],
)
def test_transport_failures_map_to_classes(exc: BaseException, expected: type[errors.UpstreamError]) -> None:
    err = session.translate("t/p", exc, timeout_s=2.5)
    assert type(err) is expected
    assert err.provider == "t/p"
    assert err.status is None
    assert str(err).startswith("t/p: ")


def test_a_timeout_message_names_the_limit() -> None:
    assert "no response within 2.5s" in str(session.translate("t/p", TimeoutError(), timeout_s=2.5))


def test_a_refused_connection_names_what_failed_but_not_the_endpoint() -> None:
    failure = http_errors.ConnectError("10.0.0.7", 8000, "Connection refused", category="connection refused")
    err = session.translate("t/p", failure, timeout_s=1)
    assert str(err) == "t/p: cannot connect to the upstream: connection refused"
    assert "10.0.0.7" not in repr(err) and "8000" not in repr(err)
    assert "10.0.0.7:8000" in str(failure)  # the HTTP client's own error keeps it, for the gateway's log


@pytest.mark.parametrize(
    ("exc", "expected", "words"),
    [
        (
            http_errors.EgressDenied("meta.test", 80, "169.254.169.254", "a link-local address"),
            errors.EgressDenied,
            "egress policy",
        ),
        (http_errors.ProxyError("up.test", 443, "refused", status=407), errors.ProxyFailed, "HTTP 407"),
        (http_errors.ProxyError("up.test", 443, "refused", status=403), errors.ProxyFailed, "HTTP 403"),
        (http_errors.ProxyError("up.test", 443, "cannot reach the proxy"), errors.ProxyFailed, "cannot be reached"),
        (http_errors.ProxyError("up.test", 443, "bad gateway", status=502), errors.ConnectFailed, "HTTP 502"),
        (http_errors.PoolTimeout("no pooled connection came free within 1s"), errors.PoolTimeout, "came free"),
    ],
)
def test_egress_failures_are_classified_and_name_no_host(
    exc: BaseException, expected: type[errors.UpstreamError], words: str
) -> None:
    err = session.translate("t/p", exc, timeout_s=1)
    assert type(err) is expected
    assert words in str(err)
    assert "up.test" not in str(err) and "meta.test" not in str(err) and "169.254" not in str(err)
    assert isinstance(err, errors.GatewaySide) == (expected is not errors.ConnectFailed)


@pytest.mark.parametrize(
    ("exc", "words"),
    [(TimeoutError(), "stalled for 30s"), (http_errors.ConnectionClosed("closed early"), "stream cut")],
)
def test_a_failure_mid_stream_is_always_stream_broken(exc: BaseException, words: str) -> None:
    err = session.translate_in_stream("t/p", exc, idle_s=30)
    assert type(err) is errors.StreamBroken
    assert words in str(err)
