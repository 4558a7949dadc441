"""One snake_case vocabulary of error classes, the same in request-log rows and metric labels."""

from __future__ import annotations

import re
from typing import TypeVar

from gateway.providers import errors as upstream_errors
from gateway.serving import errors

E = TypeVar("E", bound=Exception)


def subclasses(base: type[E]) -> list[type[E]]:
    found: list[type[E]] = []
    for cls in base.__subclasses__():
        found += [cls, *subclasses(cls)]
    return found


def test_every_refusal_has_its_own_snake_case_class() -> None:
    classes: list[type[errors.RequestFailed]] = [errors.RequestFailed, *subclasses(errors.RequestFailed)]
    names = [cls.error_class for cls in classes]
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", name) for name in names), names
    assert len(set(names)) == len(names), names


def test_an_upstream_failure_keeps_the_upstream_class() -> None:
    upstream = {cls.error_class for cls in subclasses(upstream_errors.UpstreamError)}
    assert {"rate_limited", "transient", "bad_request", "stream_broken"} <= upstream
    failed = errors.UpstreamFailed("every provider failed", error_class=upstream_errors.Transient.error_class)
    assert failed.error_class == "transient" and errors.UpstreamFailed.error_class == "upstream"


def test_the_stream_outcomes_are_in_the_vocabulary() -> None:
    assert errors.CLIENT_CLOSED == errors.ClientClosed.error_class == "client_closed"
    assert upstream_errors.StreamBroken.error_class == errors.STREAM_BROKEN
