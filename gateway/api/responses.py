"""Responses written straight to bytes: JSON serialised once with orjson, SSE relayed chunk by chunk.

``EventStream`` replaces Starlette's ``StreamingResponse`` on the streaming hot path: on ASGI 2.3 servers
(uvicorn) that one opens an anyio task group per response to notice a client hanging up, which cost about a
tenth of a streamed request's CPU in ``bench/``. Here one plain task watches ``receive()`` and, when the client
goes away, cancels the relaying task at once - so an idle upstream is dropped without waiting for its next byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.serving import relay


def json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream(Response):
    """``text/event-stream`` from an async iterator of ready-framed bytes; the iterator is always closed.

    A `relay.Ending` chunk ends the response in the same write as its bytes (one write and one ASGI message less).
    ``on_close`` runs when the stream is over, however it ended (it releases what the request held).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncIterator[bytes],
        headers: Mapping[str, str],
        *,
        watch: bool = True,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        # Not Response.__init__: it would render an empty body and announce ``content-length: 0``.
        self.status_code = 200
        self.background = None
        self.body_iterator = body
        self.watch = watch  # false when the body is all in hand: there is no wait a departed client should end
        self.on_close = on_close  # called once the stream has ended, however it ended
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        done = False
        gone = False

        def on_disconnect(_: asyncio.Future[None]) -> None:
            nonlocal gone
            if not done:
                gone = True
                task.cancel()

        watcher: asyncio.Future[None] | None = None
        if self.watch:
            watcher = asyncio.ensure_future(_until_disconnect(receive))
            watcher.add_done_callback(on_disconnect)
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            ended = False
            async for chunk in self.body_iterator:  # iterated to its end, after the last chunk too: it logs there
                ended = isinstance(chunk, relay.Ending)
                await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
            done = True
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # our own cancellation: the client left, nothing more to send
        finally:
            done = True
            if watcher is not None:
                watcher.remove_done_callback(on_disconnect)
                watcher.cancel()
            try:
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                if self.on_close is not None:
                    self.on_close()
