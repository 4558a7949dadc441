"""Which headers an upstream request carries, and who may set them."""

from __future__ import annotations

from gateway.providers import base, headers


def config(extra: tuple[tuple[str, str], ...] = ()) -> base.ProviderConfig:
    return base.ProviderConfig(
        name="t/p", type="anthropic", base_urls=("http://u/v1",), api_key="k", timeout_s=5.0, headers=extra
    )


def request(
    passed: tuple[tuple[str, str], ...] = (), *, stream: bool = False, request_id: str = "rid"
) -> base.UpstreamRequest:
    return base.UpstreamRequest(path="/messages", body=b"{}", request_id=request_id, stream=stream, headers=passed)


def test_client_headers_override_defaults_and_static_config_whatever_their_case() -> None:
    static = headers.layered(config((("Anthropic-Beta", "from-config"),)), {"anthropic-version": "2023-06-01"})
    sent = headers.for_request(
        static, {"x-api-key": "k"}, request((("ANTHROPIC-VERSION", "2024-10-22"), ("anthropic-beta", "b")))
    )
    assert sent["anthropic-version"] == "2024-10-22"
    assert sent["anthropic-beta"] == "b"
    assert len([name for name in sent if name == "anthropic-version"]) == 1


def test_nobody_but_the_gateway_sets_credentials_framing_or_the_request_id() -> None:
    static = headers.layered(config((("Authorization", "Bearer config"), ("Host", "evil"))), {})
    passed = (("Authorization", "Bearer client"), ("X-Api-Key", "client"), ("X-Request-Id", "spoof"), ("Cookie", "c"))
    sent = headers.for_request(static, headers.bearer("real"), request(passed))
    assert sent["authorization"] == "Bearer real"
    assert "x-api-key" not in sent
    assert "host" not in sent
    assert "cookie" not in sent
    assert sent["x-request-id"] == "rid"


def test_a_stream_asks_for_uncompressed_server_sent_events() -> None:
    sent = headers.for_request({}, {}, request(stream=True))
    assert (sent["accept"], sent["accept-encoding"]) == ("text/event-stream", "identity")
    assert headers.for_request({}, {}, request())["accept"] == "application/json"


def test_no_key_means_no_authorization_header() -> None:
    assert headers.bearer(None) == {}
    assert headers.bearer("") == {}
    assert headers.bearer("sk-1") == {"authorization": "Bearer sk-1"}
