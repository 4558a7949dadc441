"""Fake OpenAI, Anthropic and vLLM servers on 127.0.0.1 that speak the real wire formats, with scripted faults.

Each fake records every request (method, path, headers, parsed JSON) and answers deterministically (see
`replies`). `script(*faults)` queues one fault per coming request. Waits (delay, stall) end when the fake
closes, so teardown never hangs on a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

import orjson
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes import anthropic_wire, faults, openai_wire, replies, responses_wire, vllm_wire

Payload = dict[str, Any]
Renderer = Callable[[Mapping[str, Any], str, faults.Fault | None], Any]


@dataclass(frozen=True, slots=True)
class Replier:
    """How one generation endpoint answers: its reply ids, whole bodies, streams and in-stream errors."""

    id_prefix: str
    payload: Callable[[Mapping[str, Any], str, faults.Fault | None], Payload]
    events: Callable[[Mapping[str, Any], str, faults.Fault | None], list[bytes]]
    error_event: Callable[[faults.Fault], bytes]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: CIMultiDict[str]
    body: bytes
    json: Any  # None when the body is empty or not JSON
    peer_port: int  # the client's source port: equal ports mean a reused connection
    query: str = ""  # the query string, without its "?"


class FakeUpstream:
    """The server mechanics; subclasses say which paths exist and how replies and errors look."""

    generation_path: ClassVar[str]
    reply_id_prefix: ClassVar[str]
    default_models: ClassVar[tuple[str, ...]]

    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] | None = None) -> None:
        self.api_key = api_key
        self.models = models if models is not None else self.default_models
        self.requests: list[RecordedRequest] = []
        self._faults: deque[faults.Fault] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._replies = 0

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL with its version prefix, as a `Provider` would declare it."""
        return f"http://127.0.0.1:{self._port}/v1"

    def script(self, *queued: faults.Fault) -> None:
        self._faults.extend(queued)

    # -- provider specifics ----------------------------------------------------------------------------------
    def presented_key(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""

    def precondition(self, request: web.Request) -> web.Response | None:
        return None

    def error_payload(self, fault: faults.Fault, presented_key: str, prompt: int) -> Payload:
        raise NotImplementedError

    def models_payload(self) -> Payload:
        raise NotImplementedError

    def reply_payload(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> Payload:
        raise NotImplementedError

    def reply_events(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
        raise NotImplementedError

    def extra_routes(self) -> dict[tuple[str, str], Callable[[Mapping[str, Any]], Payload]]:
        return {}

    def error_event(self, fault: faults.Fault) -> bytes:
        """An error reported inside a stream that had started well (OpenAI style: a `data:` error object)."""
        return openai_wire.sse(self.error_payload(fault, "", 0))

    # -- request handling ------------------------------------------------------------------------------------
    def _json(self, payload: Payload, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json", headers=headers)

    def error_response(self, fault: faults.Fault, request: web.Request, body: Mapping[str, Any]) -> web.Response:
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        payload = self.error_payload(fault, self.presented_key(request), replies.prompt_tokens(body))
        return self._json(payload, fault.status, headers)

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        port = peer[1] if isinstance(peer, tuple) else 0
        self.requests.append(
            RecordedRequest(
                request.method, request.path, CIMultiDict(request.headers), raw, parsed, port, request.query_string
            )
        )
        body: Mapping[str, Any] = parsed if isinstance(parsed, dict) else {}
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.kind == "error":
            return self.error_response(fault, request, body)
        if fault is not None and fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault is not None and fault.kind == "delay":
            await self._wait(fault.seconds)
        if self.api_key is not None and self.presented_key(request) != self.api_key:
            return self.error_response(faults.unauthorized(), request, body)
        refused = self.precondition(request)
        if refused is not None:
            return refused
        return await self._route(request, body, fault)

    async def _route(
        self, request: web.Request, body: Mapping[str, Any], fault: faults.Fault | None
    ) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/v1/models":
            return self._json(self.models_payload())
        if request.method == "POST" and request.path == self.generation_path:
            replier = Replier(self.reply_id_prefix, self.reply_payload, self.reply_events, self.error_event)
            return await self._generate(request, body, fault, replier)
        extra = self.extra_routes().get((request.method, request.path))
        if extra is not None and fault is not None and fault.kind == "malformed_json":
            return web.Response(body=b'{"object": "broken", "data": [', content_type="application/json")
        if extra is not None and fault is not None and fault.kind == "wrong_shape":
            return self._json({"input_tokens": -3, "tokens": True})
        if extra is not None:
            return self._json(extra(body))
        return self._json({"error": {"message": f"no route {request.method} {request.path}"}}, 404)

    async def _generate(
        self, request: web.Request, body: Mapping[str, Any], fault: faults.Fault | None, replier: Replier
    ) -> web.StreamResponse:
        self._replies += 1
        reply_id = f"{replier.id_prefix}{self._replies}"
        tool = fault if fault is not None and fault.kind in ("tool_call", "cached") else None  # shapes the reply
        if body.get("stream") is True:
            return await self._stream(request, replier.events(body, reply_id, tool), fault, replier.error_event)
        if fault is not None and fault.kind == "malformed_json":
            return web.Response(body=b'{"id": "broken", "choices": [', content_type="application/json")
        if fault is not None and fault.kind == "stall_after":
            await self._wait(None)
        encoded = orjson.dumps(replier.payload(body, reply_id, tool))
        if fault is not None and fault.kind == "cut_after":
            return await self._cut_body(request, encoded)
        return web.Response(body=encoded, content_type="application/json")

    async def _stream(
        self,
        request: web.Request,
        events: list[bytes],
        fault: faults.Fault | None,
        error_event: Callable[[faults.Fault], bytes],
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        cut_short = fault is not None and fault.kind in ("stall_after", "cut_after", "error_event_after")
        stop_at = fault.chunks if fault is not None and cut_short else None
        for index, event in enumerate(events):
            if index == stop_at:
                break
            await response.write(event)
        if stop_at is not None and fault is not None and fault.kind == "error_event_after":
            await response.write(error_event(fault))
        if stop_at is not None and fault is not None and fault.kind == "stall_after":
            await self._wait(None)
        if stop_at is not None and fault is not None and fault.kind == "cut_after":
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    async def _cut_body(self, request: web.Request, encoded: bytes) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(encoded)
        await response.prepare(request)
        await response.write(encoded[: len(encoded) // 2])
        assert request.transport is not None
        request.transport.close()
        return response


class OpenAIUpstream(FakeUpstream):
    """Chat Completions, embeddings and the Responses API, whose stored responses it keeps in memory."""

    generation_path = "/v1/chat/completions"
    reply_id_prefix = "chatcmpl-fake"
    default_models: ClassVar[tuple[str, ...]] = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
    serves_responses: ClassVar[bool] = True

    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] | None = None) -> None:
        super().__init__(api_key=api_key, models=models)
        self.stored: dict[str, list[dict[str, Any]]] = {}  # response id -> the conversation including it

    async def _route(
        self, request: web.Request, body: Mapping[str, Any], fault: faults.Fault | None
    ) -> web.StreamResponse:
        if not (self.serves_responses and request.method == "POST" and request.path == "/v1/responses"):
            return await super()._route(request, body, fault)
        previous = body.get("previous_response_id")
        history: list[dict[str, Any]] = []
        if isinstance(previous, str):
            if previous not in self.stored:
                return self._json(responses_wire.not_found(previous), 404)
            history = self.stored[previous]

        def payload(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> Payload:
            return self._kept(body, responses_wire.response(body, reply_id, tool, history), history)

        def events(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
            self._kept(body, responses_wire.response(body, reply_id, tool, history), history)
            return responses_wire.stream_events(body, reply_id, tool, history)

        def error_event(fault: faults.Fault) -> bytes:
            return responses_wire.error_event(self.error_payload(fault, "", 0))

        return await self._generate(request, body, fault, Replier("resp_fake", payload, events, error_event))

    def _kept(self, body: Mapping[str, Any], done: Payload, history: list[dict[str, Any]]) -> Payload:
        if body.get("store") is not False:
            self.stored[done["id"]] = [*history, *responses_wire.items(body), *done["output"]]
        return done

    def error_payload(self, fault: faults.Fault, presented_key: str, prompt: int) -> Payload:
        return openai_wire.error(fault, presented_key=presented_key, prompt=prompt)

    def models_payload(self) -> Payload:
        return openai_wire.models(self.models)

    def reply_payload(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> Payload:
        return openai_wire.completion(body, reply_id, tool)

    def reply_events(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
        return openai_wire.stream_events(body, reply_id, tool)

    def extra_routes(self) -> dict[tuple[str, str], Callable[[Mapping[str, Any]], Payload]]:
        return {("POST", "/v1/embeddings"): openai_wire.embeddings}


class VLLMUpstream(OpenAIUpstream):
    default_models: ClassVar[tuple[str, ...]] = ("meta-llama/Llama-3.1-8B-Instruct",)
    serves_responses: ClassVar[bool] = False  # a Chat-Completions-only server, as TokenHub's vllm type assumes

    def error_payload(self, fault: faults.Fault, presented_key: str, prompt: int) -> Payload:
        return vllm_wire.error(fault, presented_key=presented_key, prompt=prompt)

    def models_payload(self) -> Payload:
        return vllm_wire.models(self.models)

    async def _route(
        self, request: web.Request, body: Mapping[str, Any], fault: faults.Fault | None
    ) -> web.StreamResponse:
        refused = vllm_wire.refused_tools(body) if request.path == self.generation_path else None
        if refused is not None:
            return self._json(refused, 400)
        return await super()._route(request, body, fault)


class AnthropicUpstream(FakeUpstream):
    generation_path = "/v1/messages"
    reply_id_prefix = "msg_fake"
    default_models: ClassVar[tuple[str, ...]] = ("claude-fake-large", "claude-fake-small")

    def presented_key(self, request: web.Request) -> str:
        """`x-api-key`, or a Bearer token as recent Anthropic SDKs send the same key."""
        return request.headers.get("x-api-key") or super().presented_key(request)

    def precondition(self, request: web.Request) -> web.Response | None:
        if "anthropic-version" in request.headers:
            return None
        payload = anthropic_wire.error_body("invalid_request_error", "anthropic-version: header is required")
        return self._json(payload, 400)

    def error_payload(self, fault: faults.Fault, presented_key: str, prompt: int) -> Payload:
        return anthropic_wire.error(fault, presented_key=presented_key, prompt=prompt)

    def error_event(self, fault: faults.Fault) -> bytes:
        return anthropic_wire.sse(self.error_payload(fault, "", 0))

    def models_payload(self) -> Payload:
        return anthropic_wire.models(self.models)

    def reply_payload(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> Payload:
        return anthropic_wire.message(body, reply_id, tool)

    def reply_events(self, body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
        return anthropic_wire.stream_events(body, reply_id, tool)

    def extra_routes(self) -> dict[tuple[str, str], Callable[[Mapping[str, Any]], Payload]]:
        return {("POST", "/v1/messages/count_tokens"): anthropic_wire.count_tokens}
