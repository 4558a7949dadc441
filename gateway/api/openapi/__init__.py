"""The OpenAPI 3.1 document of the public model API, built from models of what the request validators accept.

The validators stay hand-written (``providers.wire``, ``serving.native``, ``serving.embeddings``: about 15 us a
request); the models here describe them, tests hold the two together, and ``python -m gateway.api.openapi PATH``
writes the committed ``docs/openapi.json`` that ``make check`` keeps fresh.
"""

from __future__ import annotations

import pathlib

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.openapi.document import document


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write(path: pathlib.Path) -> None:
    path.write_bytes(render())


async def openapi_json(request: Request) -> Response:
    """``GET /openapi.json``: rendered on the first request, then served from memory."""
    state = request.app.state
    rendered: bytes | None = getattr(state, "openapi_json", None)
    if rendered is None:
        rendered = state.openapi_json = render()
    return Response(rendered, media_type="application/json")


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]

__all__ = ["document", "render", "routes", "write"]
