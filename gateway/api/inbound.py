"""Reading what a client sent: request id, API key, then the body (bounded in size and time) and its JSON.

Endpoints check the key before they read the body. The body has one deadline for all of it, not one per read (a
byte every few seconds passes any per-read timeout). JSON may nest 64 deep: orjson parses 1024 levels but writes
only 255, so a body in between used to fail later, as a 500. Depth is measured on the parsed value level by level
(about 1 us for a small chat body; scanning the raw bytes costs more, as strings may hold brackets).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope

from gateway import settings as settings_mod
from gateway.api import deadlines
from gateway.api import errors as api_errors
from gateway.observability import metrics as metrics_mod
from gateway.serving import auth, calls, errors
from gateway.store import ids

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_JSON_DEPTH = 64
# Why a client's connection was cut: the label values of ``tokenhub_inbound_cut_total``.
HEADER_TIMEOUT = "header_timeout"
HEADER_TOO_LARGE = "header_too_large"
BODY_TIMEOUT = "body_timeout"
_new_id = ids.generator()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one request may cost this process before any work is done for it."""

    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout_s: float = 30.0
    header_timeout_s: float = 10.0  # enforced by ``http_protocol``, before a request exists
    max_concurrent_requests: int = 1000  # on the model endpoints; enforced by ``app.Gateway``

    @classmethod
    def of(cls, settings: settings_mod.Settings) -> Limits:
        return cls(
            body_timeout_s=settings.body_timeout_s,
            header_timeout_s=settings.header_timeout_s,
            max_concurrent_requests=settings.max_concurrent_requests,
        )


# The model endpoints by path, with the name their request-log rows carry.
ENDPOINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "/v1/chat/completions": "chat.completions",
        "/v1/messages": "messages",
        "/v1/messages/count_tokens": "messages.count_tokens",
        "/v1/chat": "chat",
        "/v1/embeddings": "embeddings",
        "/v1/responses": "responses",
    }
)


def call_for(scope: Scope) -> calls.Call:
    """The call of a model-endpoint request refused before its endpoint ran (by a limit or the middleware)."""
    path = scope["path"]
    return calls.Call(api_errors.client_api(path), ENDPOINTS.get(path, path), request_id(Request(scope)))


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return _new_id()


def new_request_id() -> str:
    return _new_id()


def authenticate(request: Request, services: calls.Services) -> auth.KeyContext:
    presented = auth.presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
    return auth.authenticate(services.snapshot(), presented, dt.datetime.now(dt.UTC))


async def body(request: Request) -> bytes:
    reader: BodyReader = request.app.state.bodies
    return await reader.read(request.receive, request.headers.get("content-length"))


_LATE = "the body deadline passed"  # the message of the cancellation that ends a late body


class BodyReader:
    """Reads request bodies against this process's size cap and body deadline (on the shared coarse clock)."""

    def __init__(self, limits: Limits, metrics: metrics_mod.Metrics) -> None:
        self.limits = limits
        self._deadlines = deadlines.Deadlines(limits.body_timeout_s)
        self._metrics = metrics

    async def read(self, receive: Receive, content_length: str | None) -> bytes:
        """The whole body; 413 as soon as it passes the cap (declared or not), 408 at the deadline.

        An oversized upload costs at most the cap in memory; a client that leaves mid-body is a 499. A 408 closes
        the connection: what the client still sends is not waited for.
        """
        limit = self.limits.max_body_bytes
        if content_length is not None and content_length.isdigit() and int(content_length) > limit:
            raise errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
        task = asyncio.current_task()
        assert task is not None
        deadline = self._deadlines.add(functools.partial(task.cancel, _LATE))
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise errors.ClientClosed("the client closed the connection before its body was read")
                piece: bytes = message.get("body", b"")
                size += len(piece)
                if size > limit:
                    raise errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
                chunks.append(piece)
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        except asyncio.CancelledError as exc:
            if exc.args[:1] != (_LATE,) or task.uncancel() > 0:
                raise  # not (only) our deadline: a cancellation from elsewhere goes on
            self._metrics.child(self._metrics.inbound_cut, BODY_TIMEOUT).inc()
            late = errors.RequestTimeout(f"the request body did not arrive within {self.limits.body_timeout_s:g} s")
            late.headers["Connection"] = "close"
            raise late from None
        finally:
            self._deadlines.discard(deadline)


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; a 400 naming what is wrong: not UTF-8, not JSON, not an object, too deep."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")  # only on this error path: orjson has checked the encoding already
        except UnicodeDecodeError as bad:
            raise errors.InvalidRequest(f"the body is not valid UTF-8 (at byte {bad.start})") from exc
        raise errors.InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise errors.InvalidRequest("the body must be a JSON object")
    if nested_deeper(value, MAX_JSON_DEPTH):
        raise errors.InvalidRequest(
            f"the body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels", code="json_too_deep"
        )
    return value


def nested_deeper(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether a parsed JSON value nests more than ``limit`` objects/arrays (the value itself is level 1)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return False
    return True
