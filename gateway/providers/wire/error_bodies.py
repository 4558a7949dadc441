"""Error bodies in each API's own shape, the error type each API names for a status, and lenient readers.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``. Anthropic: ``{"type": "error", "error": {"type",
"message"}}``, with a status-specific type (``overloaded_error`` on its own 529). Readers accept whatever an
upstream or a proxy in front of it sent - a bare string, HTML, an empty body - and always yield a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import orjson

from gateway.providers.wire import safe_text
from gateway.providers.wire.errors import WireError

MESSAGE_LIMIT = 2000
FIELD_LIMIT = 200

ANTHROPIC_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        503: "overloaded_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
)
ANTHROPIC_STATUSES: Final[Mapping[str, int]] = MappingProxyType(
    {kind: status for status, kind in ANTHROPIC_TYPES.items() if status != 503}
)

OPENAI_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
)
OPENAI_STATUSES: Final[Mapping[str, int]] = MappingProxyType(
    {kind: status for status, kind in OPENAI_TYPES.items()} | {"server_error": 500}
)


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error to send to a client: the HTTP status and the JSON body in the client's API shape."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """What an upstream error body said, whichever API's shape it came in."""

    message: str
    type: str | None = None
    param: str | None = None
    code: str | None = None


def anthropic_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def openai_type(status: int) -> str:
    return OPENAI_TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")


def openai_body(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type or openai_type(status), "param": param, "code": code}}


def anthropic_body(status: int, message: str, *, error_type: str | None = None) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type or anthropic_type(status), "message": message}}


def anthropic_param(param: str) -> str:
    """A field path as Anthropic writes it: ``messages.2.content`` for ``messages[2].content``."""
    return param.replace("[", ".").replace("]", "")


def openai_from_wire_error(error: WireError) -> ErrorReply:
    body = openai_body(400, f"Invalid '{error.param}': {error.message}" if error.param else error.message)
    body["error"]["param"] = error.param or None
    return ErrorReply(400, body)


def anthropic_from_wire_error(error: WireError) -> ErrorReply:
    message = f"{anthropic_param(error.param)}: {error.message}" if error.param else error.message
    return ErrorReply(400, anthropic_body(400, message))


NOT_JSON = "the upstream's error body is not JSON"
NO_MESSAGE = "the upstream's error body holds no error message"


def read(body: bytes | str | dict[str, Any]) -> UpstreamError:
    """The message, type, param and code of an error body in either API's shape, or of any other body.

    Every field is made safe to echo (``safe_text``): the message at most ``MESSAGE_LIMIT`` characters. Only an
    API's own error message is echoed; any other body (an HTML page, a JSON document without a message) is not.
    """
    parsed: object = body
    if isinstance(body, bytes | str):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            # Not an API's error: a proxy's or web server's page, which may name internal hosts. Never echoed.
            if not body.strip():
                return UpstreamError("the upstream returned an empty error body")
            return UpstreamError(f"{NOT_JSON} ({len(body)} bytes, not shown)")
    if not isinstance(parsed, dict):
        return UpstreamError(NO_MESSAGE)
    error = parsed.get("error")
    if isinstance(error, str):  # some OpenAI-compatible servers send {"error": "..."}
        return UpstreamError(_message(error))
    if not isinstance(error, dict):
        message = parsed.get("message") or parsed.get("detail")
        return UpstreamError(_message(message) if isinstance(message, str) else NO_MESSAGE)
    return UpstreamError(
        message=_message(error.get("message") or "the upstream gave no error message"),
        type=_optional_str(error.get("type")),
        param=_optional_str(error.get("param")),
        code=_optional_str(error.get("code")),
    )


def _message(value: object) -> str:
    return safe_text.text(value if isinstance(value, str) else str(value), MESSAGE_LIMIT)


def _optional_str(value: object) -> str | None:
    return None if value is None else safe_text.text(str(value), FIELD_LIMIT)
