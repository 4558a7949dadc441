"""Upstream failure classification, as tables of real provider responses."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers import classify, errors

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def openai_error(message: str, type_: str, code: str | None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})


def anthropic_error(type_: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": type_, "message": message}})


def vllm_error(message: str, status: int) -> bytes:
    return orjson.dumps(
        {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": status}
    )


OPENAI_OVERFLOW = openai_error(
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens.",
    "invalid_request_error",
    "context_length_exceeded",
)
ANTHROPIC_OVERFLOW = anthropic_error("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")
VLLM_OVERFLOW = vllm_error(
    "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
    "(4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
    400,
)

CASES = [
    # (provider type, status, body, expected class)
    ("openai", 429, openai_error("Rate limit reached", "requests", "rate_limit_exceeded"), errors.RateLimited),
    ("anthropic", 429, anthropic_error("rate_limit_error", "Number of requests exceeded"), errors.RateLimited),
    ("anthropic", 529, anthropic_error("overloaded_error", "Overloaded"), errors.RateLimited),
    ("openai", 529, b"overloaded", errors.Transient),
    ("vllm", 529, b"", errors.Transient),
    ("openai", 500, openai_error("The server had an error", "server_error", None), errors.Transient),
    ("openai", 502, b"<html>Bad Gateway</html>", errors.Transient),
    ("openai", 503, openai_error("The engine is currently overloaded", "server_error", None), errors.Transient),
    ("anthropic", 500, anthropic_error("api_error", "Internal server error"), errors.Transient),
    ("vllm", 504, b"", errors.Transient),
    ("openai", 408, b"", errors.Transient),
    ("openai", 400, OPENAI_OVERFLOW, errors.ContextOverflow),
    ("anthropic", 400, ANTHROPIC_OVERFLOW, errors.ContextOverflow),
    ("vllm", 400, VLLM_OVERFLOW, errors.ContextOverflow),
    (
        "anthropic",
        400,
        anthropic_error(
            "invalid_request_error", "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000"
        ),
        errors.ContextOverflow,
    ),
    ("openai-compatible", 400, b"the request exceeds the available context size", errors.ContextOverflow),
    ("openai", 413, b"Request Entity Too Large", errors.ContextOverflow),
    (
        "openai",
        401,
        openai_error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
        errors.AuthFailed,
    ),
    ("anthropic", 401, anthropic_error("authentication_error", "invalid x-api-key"), errors.AuthFailed),
    ("anthropic", 403, anthropic_error("permission_error", "not allowed"), errors.AuthFailed),
    ("openai", 400, openai_error("Invalid value for 'temperature'", "invalid_request_error", None), errors.BadRequest),
    (
        "openai",
        404,
        openai_error("The model `gpt-9` does not exist", "invalid_request_error", "model_not_found"),
        errors.BadRequest,
    ),
    ("anthropic", 400, anthropic_error("invalid_request_error", "messages: field required"), errors.BadRequest),
    ("vllm", 422, b'{"detail": "Unprocessable"}', errors.BadRequest),
    ("openai", 429, OPENAI_OVERFLOW, errors.RateLimited),
    ("openai", 302, b"", errors.Fatal),
    ("openai", 101, b"", errors.Fatal),
    ("openai", 200, b'{"choices": [', errors.MalformedResponse),
]


@pytest.mark.parametrize(("provider_type", "status", "body", "expected"), CASES)
def test_each_upstream_failure_lands_in_the_class_the_caller_acts_on(
    provider_type: str, status: int, body: bytes, expected: type[errors.UpstreamError]
) -> None:
    err = classify.classify("team/p", provider_type, status, {}, body, now=NOW)
    assert type(err) is expected
    assert err.status == status
    assert err.provider == "team/p"
    assert err.body == body


def test_the_message_names_provider_status_and_upstream_text() -> None:
    err = classify.classify("team/openai", "openai", 400, {}, OPENAI_OVERFLOW, now=NOW)
    assert str(err).startswith("team/openai: upstream returned HTTP 400: This model's maximum context length")


def test_overflow_words_in_a_non_error_field_do_not_make_an_overflow() -> None:
    body = orjson.dumps(
        {"error": {"message": "Invalid 'tools'", "type": "invalid_request_error"}, "echo": "context length"}
    )
    assert type(classify.classify("p", "openai", 400, {}, body, now=NOW)) is errors.BadRequest


RETRY_CASES = [
    # (status, headers, expected retry_after)
    (429, {"Retry-After": "7"}, 7.0),
    (429, {"retry-after": "1.5"}, 1.5),
    (429, {"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}, 30.0),
    (429, {"Retry-After": "Thu, 01 Jan 2026 11:59:00 GMT"}, 0.0),
    (429, {"retry-after-ms": "250", "Retry-After": "1"}, 0.25),
    (429, {}, None),
    (429, {"Retry-After": "soon"}, None),
    (429, {"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-remaining-requests": "0"}, 360.0),
    (
        429,
        {
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-remaining-requests": "10",
            "x-ratelimit-reset-tokens": "20ms",
            "x-ratelimit-remaining-tokens": "0",
        },
        0.02,
    ),
    (429, {"anthropic-ratelimit-requests-reset": "2026-01-01T12:00:05Z"}, 5.0),
    (503, {"Retry-After": "3"}, 3.0),
    (503, {"x-ratelimit-reset-requests": "6m0s"}, None),
    (529, {"retry-after": "10"}, 10.0),
]


@pytest.mark.parametrize(("status", "headers", "expected"), RETRY_CASES)
def test_the_wait_an_upstream_asks_for_is_reported_in_seconds(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    err = classify.classify("p", "anthropic", status, headers, b"", now=NOW)
    assert err.retry_after == (pytest.approx(expected) if expected is not None else None)


KNOWN_CLASSES = {"rate_limited", "transient", "malformed_response", "context_overflow", "auth", "bad_request", "fatal"}


@given(status=st.integers(min_value=100, max_value=599), body=st.binary(max_size=200))
def test_every_status_and_body_gives_exactly_one_known_class(status: int, body: bytes) -> None:
    err = classify.classify("p", "openai", status, {}, body, now=NOW)
    assert err.error_class in KNOWN_CLASSES
    assert err.status == status


def test_a_success_status_with_an_unusable_body_is_its_own_class_not_a_transient_sentinel() -> None:
    err = classify.classify("p", "openai", 200, {}, b'{"choices": [', now=NOW)
    assert type(err) is errors.MalformedResponse and err.error_class == "malformed_response"
    assert isinstance(err, errors.Transient)  # the caller may still try another provider


def safe(text: str) -> bool:
    printable = all(ch in "\t\n\r" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) for ch in text)
    return printable and text.encode("utf-8", "strict").decode("utf-8") == text


@given(
    status=st.sampled_from([400, 404, 422, 500, 503]),
    body=st.one_of(
        st.binary(max_size=3000),
        st.builds(lambda t: orjson.dumps({"error": {"message": t}}), st.text(max_size=3000)),
    ),
)
def test_the_upstream_words_in_the_message_are_printable_valid_utf8_and_bounded(status: int, body: bytes) -> None:
    err = classify.classify("p", "openai", status, {}, body, now=NOW)
    assert safe(err.message) and "\x00" not in err.message
    assert len(err.message) <= len("p: upstream returned HTTP 500: ") + 300


def test_nul_and_invalid_utf8_in_an_error_body_never_reach_the_message() -> None:
    for body in (b"bad\x00gateway \xff\xfe oops", orjson.dumps({"error": {"message": "a\u0000b \u001b[31m"}})):
        err = classify.classify("p", "openai", 502, {}, body, now=NOW)
        assert "\x00" not in err.message and "\x1b" not in err.message and safe(err.message)
        assert "\ufffd" in err.message or "not JSON" in err.message  # a body that is not JSON is not shown


def test_an_error_page_naming_internal_hosts_is_classified_but_not_shown() -> None:
    page = b"<html><h1>502 Bad Gateway</h1>upstream 10.0.3.7:8000 (vllm-internal.svc) refused</html>"
    err = classify.classify("team/p", "vllm", 502, {}, page, now=NOW)
    assert type(err) is errors.Transient
    assert (
        err.message == f"team/p: upstream returned HTTP 502: the error body is not JSON ({len(page)} bytes, not shown)"
    )
    overflow = classify.classify("team/p", "vllm", 400, {}, b"the request exceeds the available context size", now=NOW)
    assert type(overflow) is errors.ContextOverflow and "not shown" in overflow.message
