"""A fast mock OpenAI-compatible upstream for load benchmarks: chat completions (stream or not, with usage),
embeddings and models, on a raw asyncio protocol with httptools (and uvloop when installed).

A raw protocol rather than aiohttp.web, so the mock is not what a benchmark measures. Usage is fixed by the
request: prompt_tokens = body bytes // 4 (at least 1), completion_tokens = --stream-chunks, stream or not.
Usage: python bench/mock_upstream.py --port 9001 [--latency-ms 0] [--stream-chunks 20] [--chunk-delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import dataclass
from typing import Any, cast

import httptools
import orjson

CREATED = 1_700_000_000
MODELS = ("mock-small", "mock-large", "mock-embed")


@dataclass(frozen=True, slots=True)
class Settings:
    latency_s: float
    stream_chunks: int
    chunk_delay_s: float


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    events: tuple[bytes, ...] = ()  # when set, sent as a chunked SSE stream instead of `body`


def _response_head(status: int, content_type: bytes, *, length: int | None, keep_alive: bool) -> bytes:
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}.get(status, b"OK")
    framing = b"Transfer-Encoding: chunked" if length is None else b"Content-Length: %d" % length
    connection = b"keep-alive" if keep_alive else b"close"
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s\r\nConnection: %s\r\n\r\n" % (
        status,
        reason,
        content_type,
        framing,
        connection,
    )


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_reply(body: bytes, settings: Settings, serial: int) -> Reply:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Reply(400, orjson.dumps({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}))
    model = request.get("model", "mock-small") if isinstance(request, dict) else "mock-small"
    prompt = max(1, len(body) // 4)
    words = settings.stream_chunks
    head = {"id": f"chatcmpl-mock{serial}", "created": CREATED, "model": model}
    if not (isinstance(request, dict) and request.get("stream") is True):
        message = {"role": "assistant", "content": " ".join(["mock"] * words)}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        completion = {**head, "object": "chat.completion", "choices": [choice], "usage": _usage(prompt, words)}
        return Reply(200, orjson.dumps(completion))
    options = request.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    chunk_head = {**head, "object": "chat.completion.chunk"}

    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return b"data: " + orjson.dumps({**chunk_head, "choices": [choice]}) + b"\n\n"

    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": "mock" if index == 0 else " mock"}) for index in range(words)]
    events.append(event({}, "stop"))
    if include_usage:
        final: dict[str, Any] = {**chunk_head, "choices": [], "usage": _usage(prompt, words)}
        events.append(b"data: " + orjson.dumps(final) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return Reply(200, events=tuple(events))


def embeddings_reply(body: bytes) -> Reply:
    prompt = max(1, len(body) // 4)
    data = [{"object": "embedding", "index": 0, "embedding": [0.0] * 8}]
    return Reply(200, orjson.dumps({"object": "list", "data": data, "model": "mock-embed", "usage": _usage(prompt, 0)}))


MODELS_BODY = orjson.dumps(
    {"object": "list", "data": [{"id": m, "object": "model", "created": CREATED, "owned_by": "mock"} for m in MODELS]}
)


def route(method: bytes, path: bytes, body: bytes, settings: Settings, serial: int) -> Reply:
    path = path.split(b"?", 1)[0]
    if method == b"POST" and path == b"/v1/chat/completions":
        return chat_reply(body, settings, serial)
    if method == b"POST" and path == b"/v1/embeddings":
        return embeddings_reply(body)
    if method == b"GET" and path == b"/v1/models":
        return Reply(200, MODELS_BODY)
    return Reply(404, orjson.dumps({"error": {"message": "not found", "type": "invalid_request_error"}}))


class MockProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools, answer them in order (keep-alive, no pipelining reorder)."""

    def __init__(self, settings: Settings, counter: list[int]) -> None:
        self._settings = settings
        self._counter = counter
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._previous: asyncio.Task[None] | None = None
        self._immediate = settings.latency_s == 0 and settings.chunk_delay_s == 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None  # pending replies see it and stop writing

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._counter[0] += 1
        reply = route(self._parser.get_method(), self._url, b"".join(self._body), self._settings, self._counter[0])
        keep_alive = self._parser.should_keep_alive()
        if self._immediate and self._previous is None:
            self._write_now(reply, keep_alive)
            return
        self._previous = asyncio.ensure_future(self._write_later(reply, keep_alive, self._previous))

    def _write_now(self, reply: Reply, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        if reply.events:
            chunks = [b"%x\r\n%s\r\n" % (len(event), event) for event in reply.events]
            head = _response_head(reply.status, b"text/event-stream", length=None, keep_alive=keep_alive)
            transport.write(head + b"".join(chunks) + b"0\r\n\r\n")
        else:
            head = _response_head(reply.status, b"application/json", length=len(reply.body), keep_alive=keep_alive)
            transport.write(head + reply.body)
        if not keep_alive:
            transport.close()

    async def _write_later(self, reply: Reply, keep_alive: bool, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # in order, whatever became of the previous reply
        if self._settings.latency_s:
            await asyncio.sleep(self._settings.latency_s)
        if not reply.events or not self._settings.chunk_delay_s:
            self._write_now(reply, keep_alive)
            return
        if self._transport is None:
            return
        self._transport.write(_response_head(reply.status, b"text/event-stream", length=None, keep_alive=keep_alive))
        for index, event in enumerate(reply.events):
            if index:
                await asyncio.sleep(self._settings.chunk_delay_s)
            if self._transport is None:
                return
            self._transport.write(b"%x\r\n%s\r\n" % (len(event), event))
        if self._transport is not None:
            self._transport.write(b"0\r\n\r\n")
            if not keep_alive:
                self._transport.close()


async def serve(host: str, port: int, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    counter = [0]
    server = await loop.create_server(lambda: MockProtocol(settings, counter), host, port, backlog=4096)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound = server.sockets[0].getsockname()[1]  # --port 0 picks a free port
    print(f"mock upstream on http://{host}:{bound}/v1", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="wait before the response head")
    parser.add_argument("--stream-chunks", type=int, default=20, help="content chunks (= completion tokens)")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="wait between stream chunks")
    args = parser.parse_args()
    settings = Settings(args.latency_ms / 1000, max(0, args.stream_chunks), args.chunk_delay_ms / 1000)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, settings))
    else:
        uvloop.run(serve(args.host, args.port, settings))


if __name__ == "__main__":
    main()
