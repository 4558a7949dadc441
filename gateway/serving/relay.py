"""Stream relay as a sans-I/O state machine: upstream SSE bytes in, the client's SSE bytes out, usage counted.

Same-API streams are re-framed event by event without re-serialising JSON: an event's ``data`` goes out as it
came, so the relay costs one JSON parse per event (for usage) and no copies beyond framing. The usage chunk an
OpenAI upstream sends because the gateway forced ``include_usage`` is withheld from clients that did not ask for
it. Across APIs the ``wire`` stream translators convert each event. ``finish`` always closes the client's stream
with a well-formed ending, adding an error event when the upstream broke off.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.providers.wire import (
    anthropic_to_openai_stream,
    error_bodies,
    openai_to_anthropic_stream,
    sse,
    usage,
)
from gateway.serving.dialects import ClientApi

DONE = b"data: [DONE]\n\n"


def _encode(event: sse.SseEvent) -> bytes:
    head = b"event: " + event.event.encode() + b"\n" if event.event else b""
    return head + b"data: " + event.data.encode() + b"\n\n"


class Relay:
    def __init__(self, api: ClientApi, provider_dialect: str, request: dict[str, Any], input_estimate: int) -> None:
        self._api = api
        self._same = (api is ClientApi.ANTHROPIC) == (provider_dialect == "anthropic")
        self._decoder = sse.SseDecoder()
        self._usage = usage.UsageAccumulator(input_estimate)
        options = request.get("stream_options")
        self._client_wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        self._to_openai: anthropic_to_openai_stream.AnthropicToOpenAIStream | None = None
        self._to_anthropic: openai_to_anthropic_stream.OpenAIToAnthropicStream | None = None
        if not self._same:
            if api is ClientApi.OPENAI:
                self._to_openai = anthropic_to_openai_stream.AnthropicToOpenAIStream(
                    created=int(time.time()),
                    model=request.get("model"),
                    include_usage=self._client_wants_usage,
                    input_estimate=input_estimate,
                )
            else:
                self._to_anthropic = openai_to_anthropic_stream.OpenAIToAnthropicStream(
                    model=request.get("model"), input_tokens=input_estimate
                )
        self._ended = False  # the upstream said it was done ([DONE] or message_stop)
        self._upstream_error: str | None = None

    @property
    def usage(self) -> usage.Usage:
        if self._to_openai is not None:
            return self._to_openai.usage
        if self._to_anthropic is not None:
            return self._to_anthropic.usage
        return self._usage.usage()

    @property
    def ended_cleanly(self) -> bool:
        return self._ended and self._upstream_error is None

    @property
    def upstream_error(self) -> str | None:
        return self._upstream_error

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for event in self._decoder.feed(chunk):
            out += self._event(event)
        return bytes(out)

    def _event(self, event: sse.SseEvent) -> bytes:
        if event.is_done:
            self._ended = True
            return b""  # re-sent by finish() so that it is always last
        try:
            payload = event.json()
        except orjson.JSONDecodeError:
            return b""  # not JSON: nothing a client could use (keep-alive noise)
        if not isinstance(payload, dict):
            return b""
        if self._to_openai is not None:
            self._note_anthropic(payload)
            return b"".join(sse.encode_openai(c) for c in self._to_openai.feed(payload))
        if self._to_anthropic is not None:
            self._note_openai(payload)
            return b"".join(sse.encode_anthropic(e) for e in self._to_anthropic.feed(payload))
        if self._api is ClientApi.ANTHROPIC:
            self._usage.feed_anthropic(payload)
            self._note_anthropic(payload)
            return _encode(event)
        self._usage.feed_openai(payload)
        self._note_openai(payload)
        if not self._client_wants_usage and not payload.get("choices") and "usage" in payload:
            return b""
        return _encode(event)

    def _note_anthropic(self, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        if kind == "message_stop":
            self._ended = True
        elif kind == "error":
            error = payload.get("error") or {}
            self._upstream_error = str(error.get("message") or error.get("type") or "upstream error")

    def _note_openai(self, payload: dict[str, Any]) -> None:
        error = payload.get("error")
        if isinstance(error, dict):
            self._upstream_error = str(error.get("message") or "upstream error")

    def finish(self, broken: str | None = None) -> bytes:
        """The bytes that end the client's stream; ``broken`` says why the upstream stopped early, if it did."""
        out = bytearray(b"".join(_encode(e) for e in self._decoder.flush()))
        if self._to_openai is not None:
            out += b"".join(sse.encode_openai(c) for c in self._to_openai.finish())
        elif self._to_anthropic is not None:
            out += b"".join(sse.encode_anthropic(e) for e in self._to_anthropic.finish())
        failure = broken if broken is not None else (None if self._ended else "the upstream stream ended early")
        if failure is not None and self._upstream_error is None:
            self._upstream_error = failure
            if self._api is ClientApi.OPENAI:
                out += sse.encode_openai(error_bodies.openai_body(502, failure, code="stream_broken"))
            else:
                out += sse.encode_anthropic({"type": "error", "error": {"type": "api_error", "message": failure}})
        if self._api is ClientApi.OPENAI and failure is None:
            out += DONE
        return bytes(out)
