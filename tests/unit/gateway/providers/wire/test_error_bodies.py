from __future__ import annotations

import pytest

from gateway.providers.wire import error_bodies
from gateway.providers.wire.errors import Untranslatable, WireError


@pytest.mark.parametrize(
    ("status", "anthropic", "openai"),
    [
        (400, "invalid_request_error", "invalid_request_error"),
        (401, "authentication_error", "authentication_error"),
        (403, "permission_error", "permission_error"),
        (404, "not_found_error", "not_found_error"),
        (413, "request_too_large", "invalid_request_error"),
        (422, "invalid_request_error", "invalid_request_error"),
        (429, "rate_limit_error", "rate_limit_error"),
        (500, "api_error", "server_error"),
        (502, "api_error", "server_error"),
        (529, "overloaded_error", "server_error"),
    ],
)
def test_each_status_gets_the_type_each_api_uses(status: int, anthropic: str, openai: str) -> None:
    assert error_bodies.anthropic_type(status) == anthropic
    assert error_bodies.openai_type(status) == openai


def test_bodies_have_each_apis_shape() -> None:
    assert error_bodies.openai_body(429, "slow down", code="rate_limit_exceeded") == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert error_bodies.anthropic_body(529, "Overloaded") == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_a_validation_error_names_its_field_in_each_apis_style() -> None:
    error = WireError("messages[2].content[0].text", "must not be empty")
    openai = error_bodies.openai_from_wire_error(error)
    assert openai.status == 400
    assert openai.body["error"]["param"] == "messages[2].content[0].text"
    assert openai.body["error"]["type"] == "invalid_request_error"
    anthropic = error_bodies.anthropic_from_wire_error(error)
    assert anthropic.body["error"]["message"] == "messages.2.content.0.text: must not be empty"


def test_an_error_about_the_whole_body_has_no_param() -> None:
    reply = error_bodies.openai_from_wire_error(WireError("", "the body is not valid JSON"))
    assert reply.body["error"]["param"] is None
    assert reply.body["error"]["message"] == "the body is not valid JSON"


def test_untranslatable_is_a_wire_error() -> None:
    assert issubclass(Untranslatable, WireError)


@pytest.mark.parametrize(
    ("body", "message", "kind"),
    [
        (
            b'{"type":"error","error":{"type":"not_found_error","message":"model: x"}}',
            "model: x",
            "not_found_error",
        ),
        (
            {"error": {"message": "bad", "type": "invalid_request_error", "code": 400}},
            "bad",
            "invalid_request_error",
        ),
        (b'{"detail":"Not Found"}', "Not Found", None),
        ('["odd"]', error_bodies.NO_MESSAGE, None),
        (b'{"internal": "10.0.3.7:8000"}', error_bodies.NO_MESSAGE, None),
        (b"<html>upstream 10.0.3.7:8000 refused</html>", f"{error_bodies.NOT_JSON} (43 bytes, not shown)", None),
    ],
)
def test_upstream_bodies_of_any_shape_are_read(
    body: bytes | str | dict[str, object], message: str, kind: str | None
) -> None:
    read = error_bodies.read(body)
    assert (read.message, read.type) == (message, kind)
