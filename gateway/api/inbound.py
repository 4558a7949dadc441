"""Reading what a client sent: the body (bounded), the request id, the API key.

The body is read incrementally and refused with 413 as soon as it passes the limit, so an oversized upload costs
at most the limit in memory. A client's ``X-Request-Id`` is reused when it is a sane token (so a caller can
correlate its logs with ours), else one is generated.
"""

from __future__ import annotations

import datetime as dt
import re

from starlette.requests import Request

from gateway.serving import auth, calls, errors
from gateway.store import ids

MAX_BODY_BYTES = 10 * 1024 * 1024
_new_id = ids.generator()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return _new_id()


async def body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
    return bytes(chunks)


def authenticate(request: Request, services: calls.Services) -> auth.KeyContext:
    presented = auth.presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
    return auth.authenticate(services.snapshot(), presented, dt.datetime.now(dt.UTC))
