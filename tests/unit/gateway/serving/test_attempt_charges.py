"""A failed attempt is charged by estimate only when its request reached the provider and got no usable answer."""

from __future__ import annotations

import pytest

from gateway.providers import errors
from gateway.serving import attempt_charges


def failure(kind: type[errors.UpstreamError], *, status: int | None = None, sent: bool) -> errors.UpstreamError:
    exc = kind("p", "failed", status=status)
    exc.sent = sent
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        failure(errors.Transient, sent=True),  # a timeout after the body went out
        failure(errors.Transient, sent=True),  # a connection cut before the answer
        failure(errors.Fatal, sent=True),  # an answer that is no HTTP
        failure(errors.MalformedResponse, status=200, sent=False),  # a 2xx the gateway could not read
    ],
)
def test_an_attempt_that_reached_the_provider_is_charged_its_prompt_estimate(exc: errors.UpstreamError) -> None:
    charged = attempt_charges.charged(exc, 120)
    assert charged is not None
    assert (charged.input_tokens, charged.output_tokens, charged.estimated) == (120, 0, True)


@pytest.mark.parametrize(
    "exc",
    [
        failure(errors.ConnectFailed, sent=False),  # refused, DNS, connect timeout
        failure(errors.Transient, sent=False),  # a timeout waiting for a pooled connection
        failure(errors.Transient, status=503, sent=True),
        failure(errors.RateLimited, status=429, sent=True),
        failure(errors.BadRequest, status=400, sent=True),
    ],
)
def test_a_failure_before_sending_or_an_error_status_is_free(exc: errors.UpstreamError) -> None:
    assert attempt_charges.charged(exc, 120) is None
