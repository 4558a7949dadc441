"""A loopback server that records every request an agent CLI makes and answers in the wire format it expects.

It speaks just enough of the OpenAI Responses API (`POST /v1/responses`, for Codex) and the Anthropic Messages
API (`POST /v1/messages` and `/v1/messages/count_tokens`, for Claude Code) for a CLI to finish a turn with a tool
round trip (see `script`); behind a gateway it also stands in for a Chat Completions upstream
(`POST /v1/chat/completions`). Any other path is recorded and answered 404, so a start-up call we do not know shows
up in the record instead of being guessed at. Credentials are redacted as they are recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import IO, Any

import orjson
from aiohttp import web

from tests.agents import chat_wire, messages_wire, responses_wire, script

REDACTED_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "chatgpt-account-id"})


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name.lower(): "<redacted>" if name.lower() in REDACTED_HEADERS else value for name, value in headers.items()
    }


class CaptureServer:
    """Records requests in arrival order (also as JSON lines on `sink`, flushed per request, so a CLI that hangs
    still leaves its record behind)."""

    def __init__(self, sink: IO[bytes] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._sink = sink
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, request: web.Request, raw: bytes) -> Any:
        try:
            body: Any = orjson.loads(raw) if raw else None
            entry: dict[str, Any] = {"json": body}
        except orjson.JSONDecodeError:
            body = None
            entry = {"text": raw.decode(errors="replace")}
        record = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": redact(request.headers),
            **entry,
        }
        self.requests.append(record)
        if self._sink is not None:
            self._sink.write(orjson.dumps(record) + b"\n")
            self._sink.flush()
        return body

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = self._record(request, await request.read())
        if request.method == "POST" and request.path == "/v1/responses" and isinstance(body, dict):
            return await self._responses(request, body)
        if request.method == "POST" and request.path == "/v1/messages" and isinstance(body, dict):
            return await self._messages(request, body)
        if request.method == "POST" and request.path == "/v1/chat/completions" and isinstance(body, dict):
            return await self._chat(request, body)
        if request.method == "POST" and request.path == "/v1/messages/count_tokens":
            return web.json_response({"input_tokens": 10})
        error = {"type": "not_found_error", "message": f"{request.method} {request.path} is not served here"}
        return web.json_response({"type": "error", "error": error}, status=404)

    async def _stream(self, request: web.Request, events: list[bytes]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await response.prepare(request)
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response

    async def _responses(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        reply_id = f"resp_{next(self._ids):04d}"
        reply = script.codex_reply(body)
        if body.get("stream"):
            return await self._stream(request, responses_wire.stream(body, reply_id, reply))
        return web.json_response(responses_wire.completed(body, reply_id, reply))

    async def _chat(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        reply_id = f"chatcmpl_{next(self._ids):04d}"
        reply = script.chat_reply(body)
        if body.get("stream"):
            return await self._stream(request, chat_wire.stream(body, reply_id, reply))
        return web.json_response(chat_wire.completion(body, reply_id, reply))

    async def _messages(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        reply_id = f"msg_{next(self._ids):04d}"
        reply = script.claude_reply(body)
        if body.get("stream"):
            return await self._stream(request, messages_wire.stream(body, reply_id, reply))
        return web.json_response(messages_wire.message(body, reply_id, reply))
