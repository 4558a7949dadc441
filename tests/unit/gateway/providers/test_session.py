"""aiohttp and asyncio failures become the upstream error class the caller acts on."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from gateway.providers import errors, session

KEY = ConnectionKey("upstream.test", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (aiohttp.ClientConnectorError(KEY, OSError(111, "Connection refused")), errors.ConnectFailed),
        (aiohttp.ConnectionTimeoutError("connect"), errors.ConnectFailed),
        (aiohttp.SocketTimeoutError("read"), errors.Transient),
        (TimeoutError(), errors.Transient),
        (aiohttp.ServerDisconnectedError(), errors.Transient),
        (aiohttp.ClientPayloadError("Response payload is not completed"), errors.Transient),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), errors.Transient),
        (aiohttp.InvalidURL("not a url"), errors.Fatal),
        (aiohttp.ClientError("something unforeseen"), errors.Fatal),
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


@pytest.mark.parametrize(
    ("exc", "words"),
    [(aiohttp.SocketTimeoutError("read"), "stalled for 30s"), (aiohttp.ClientPayloadError("cut"), "stream cut")],
)
def test_a_failure_mid_stream_is_always_stream_broken(exc: BaseException, words: str) -> None:
    err = session.translate_in_stream("t/p", exc, idle_s=30)
    assert type(err) is errors.StreamBroken
    assert words in str(err)
