"""Stream relay as a sans-I/O state machine: upstream SSE bytes in, the client's SSE bytes out, usage counted.

Same-API streams pass through as bytes: complete events are found by their blank lines, and only the events that
can matter to the gateway - usage, errors, the end - are parsed (found by their JSON keys, which cannot occur
unescaped inside a string value). The other events go out exactly as they came, unparsed; they are parsed only if
the upstream never reports its output count and the produced text must be estimated. The usage chunk an OpenAI
upstream sends because the gateway forced ``include_usage`` is withheld from clients that did not ask for it. A
stream framed with ``\r`` (or opened with a byte-order mark) falls back to the full SSE decoder. Across APIs the
``wire`` stream translators convert each event. ``finish`` always closes the client's stream with a well-formed
ending, adding an error event when the upstream broke off.

A hostile upstream is cut, not followed: more than ``MAX_UNUSABLE_BYTES`` without a usable event (an event that
never ends, lines without blank lines, garbage), an SSE event past the decoder's cap, or usage counts that are no
counts make the relay ``failed``; the caller stops reading and ``finish`` ends the stream with an error event.
Upstream error events reach the client rebuilt from their safe fields (``error_bodies.read``).
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
from gateway.providers.wire.errors import MalformedUpstream
from gateway.serving.dialects import ClientApi

DONE = b"data: [DONE]\n\n"
# Keys whose events the gateway must read; any other event of the same API is forwarded unparsed.
_READ_OPENAI = (b'"usage"', b'"error"', b"data: [DONE]")
_READ_ANTHROPIC = (b'"message_', b'"error"', b"data: [DONE]")
UNREAD_LIMIT = 1 << 20  # bytes of unparsed events held for a possible estimate before they are counted
MAX_UNUSABLE_BYTES = sse.MAX_EVENT_BYTES  # bytes an upstream may send between two usable events


def _encode(event: sse.SseEvent) -> bytes:
    head = b"event: " + event.event.encode() + b"\n" if event.event else b""
    lines = event.data.encode().split(b"\n")  # data that spanned several lines goes out on as many
    return head + b"".join([b"data: " + line + b"\n" for line in lines]) + b"\n"


class Ending(bytes):
    """The last bytes of a relayed stream: the response may end together with them."""


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
        self._raw = self._same  # bytes pass through until the stream needs the full decoder
        self._read_keys = _READ_ANTHROPIC if api is ClientApi.ANTHROPIC else _READ_OPENAI
        self._held: list[bytes] = []  # raw mode: the bytes after the last complete event
        self._held_size = 0
        self._unread: list[bytes] = []  # raw mode: runs of plain events forwarded unparsed
        self._unread_size = 0
        self._unusable = 0  # bytes fed since the last usable event (about: counted per chunk)
        self._failure: str | None = None  # why the relay stopped taking the upstream's bytes

    @property
    def usage(self) -> usage.Usage:
        if self._to_openai is not None:
            return self._to_openai.usage
        if self._to_anthropic is not None:
            return self._to_anthropic.usage
        if not self._usage.output_reported:
            self._count_unread()
        return self._usage.usage()

    @property
    def unread_bytes(self) -> int:
        """Bytes of events forwarded unparsed and held for a possible estimate (bounded by ``UNREAD_LIMIT``)."""
        return self._unread_size

    @property
    def ended_cleanly(self) -> bool:
        return self._ended and self._upstream_error is None

    @property
    def upstream_error(self) -> str | None:
        return self._upstream_error

    @property
    def failed(self) -> bool:
        """Whether the upstream's stream proved unusable: read no more of it, and ``finish``."""
        return self._failure is not None

    @property
    def stop_reading(self) -> bool:
        return self.failed

    def feed(self, chunk: bytes) -> bytes:
        if self._failure is not None:
            return b""
        self._unusable += len(chunk)
        try:
            out = self._feed_raw(chunk) if self._raw else self._decoded(self._decoder.feed(chunk))
        except MalformedUpstream as exc:
            self._fail(exc.message)
            return b""
        self._unusable = max(self._unusable, self._held_size)
        if self._unusable > MAX_UNUSABLE_BYTES and self._failure is None:
            self._fail(f"the upstream sent more than {MAX_UNUSABLE_BYTES} bytes without a usable event")
        return out

    def _fail(self, why: str) -> None:
        self._failure = why
        self._held, self._held_size = [], 0

    def _decoded(self, events: list[sse.SseEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if self._failure is not None:
                break
            out.append(self._event(event))
        return b"".join(out)

    def _completes_event(self, chunk: bytes) -> bool:
        return b"\n\n" in chunk or (chunk[:1] == b"\n" and bool(self._held) and self._held[-1].endswith(b"\n"))

    def _feed_raw(self, chunk: bytes) -> bytes:
        if b"\r" not in chunk and not self._completes_event(chunk):
            self._held.append(chunk)  # no event ends here: held as it came, never copied or scanned again
            self._held_size += len(chunk)
            return b""
        data = b"".join([*self._held, chunk]) if self._held else chunk
        self._held, self._held_size = [], 0
        if b"\r" in chunk or data.startswith(sse.BOM):
            self._raw = False
            return self._decoded(self._decoder.feed(data))
        complete, rest = sse.split_complete(data)
        if rest:
            self._held, self._held_size = [rest], len(rest)
        # Typically only the last events (finish, usage, end) need reading: everything before the first of them
        # goes out as it came when its shape is plain; the rest is read event by event.
        split = sse.first_block_with(complete, self._read_keys)
        if split == len(complete) and self._forward_plain(complete):
            return complete
        head = complete[:split]
        if head and self._forward_plain(head):
            return head + self._decoded(self._decoder.feed(complete[split:]))
        return self._decoded(self._decoder.feed(complete))

    def _forward_plain(self, region: bytes) -> bool:
        """Keep a region of plain content events unparsed, for a possible estimate; false if it is not plain."""
        if not sse.plain_region(region, named=self._api is ClientApi.ANTHROPIC):
            return False
        self._unusable = 0
        self._unread.append(region)
        self._unread_size += len(region)
        if self._unread_size > UNREAD_LIMIT:
            self._count_unread()
        return True

    def _count_unread(self) -> None:
        """Count the produced text of the events forwarded unparsed (none of them carries usage)."""
        feed = self._usage.feed_anthropic if self._api is ClientApi.ANTHROPIC else self._usage.feed_openai
        decoder = sse.SseDecoder()
        for region in self._unread:
            for event in decoder.feed(region):
                try:
                    payload = event.json()
                except orjson.JSONDecodeError:
                    continue
                if isinstance(payload, dict):
                    feed(payload)
        self._unread.clear()
        self._unread_size = 0

    def _event(self, event: sse.SseEvent) -> bytes:
        if event.is_done:
            self._ended = True
            self._unusable = 0
            return b""  # re-sent by finish() so that it is always last
        try:
            payload = event.json()
        except orjson.JSONDecodeError:
            return b""  # not JSON: nothing a client could use (keep-alive noise)
        if not isinstance(payload, dict):
            return b""
        self._unusable = 0
        try:
            return self._payload(event, payload)
        except MalformedUpstream as exc:
            self._fail(exc.message)
            return b""

    def _payload(self, event: sse.SseEvent, payload: dict[str, Any]) -> bytes:
        if self._to_openai is not None:
            self._note_anthropic(payload)
            return b"".join(sse.encode_openai(c) for c in self._to_openai.feed(payload))
        if self._to_anthropic is not None:
            self._note_openai(payload)
            return b"".join(sse.encode_anthropic(e) for e in self._to_anthropic.feed(payload))
        if self._api is ClientApi.ANTHROPIC:
            self._usage.feed_anthropic(payload)
            if self._note_anthropic(payload):
                read = error_bodies.read(payload)
                return sse.encode_anthropic(error_bodies.anthropic_body(500, read.message, error_type=read.type))
            return _encode(event)
        self._usage.feed_openai(payload)
        if self._note_openai(payload):
            read = error_bodies.read(payload)
            return sse.encode_openai(
                error_bodies.openai_body(500, read.message, param=read.param, code=read.code, error_type=read.type)
            )
        if not self._client_wants_usage and not payload.get("choices") and "usage" in payload:
            return b""
        return _encode(event)

    def _note_anthropic(self, payload: dict[str, Any]) -> bool:
        """Note the end or an error event; true for an error event."""
        kind = payload.get("type")
        if kind == "message_stop":
            self._ended = True
        elif kind == "error":
            self._upstream_error = error_bodies.read(payload).message
            return True
        return False

    def _note_openai(self, payload: dict[str, Any]) -> bool:
        """Note an in-stream error object; true if there was one."""
        error = payload.get("error")
        if error is not None and isinstance(error, dict | str) and not payload.get("choices"):
            self._upstream_error = error_bodies.read(payload).message
            return True
        return False

    def finish(self, broken: str | None = None) -> bytes:
        """The bytes that end the client's stream; ``broken`` says why the upstream stopped early, if it did."""
        # Bytes held in raw mode never met their blank line; the decoder's flush still delivers a last event.
        out = bytearray()
        if self._failure is None:
            try:
                events = self._decoder.feed(b"".join(self._held)) if self._held else []
                out += self._decoded(events + self._decoder.flush())
            except MalformedUpstream as exc:
                self._fail(exc.message)
        self._held, self._held_size = [], 0
        if broken is None:
            broken = self._failure
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
