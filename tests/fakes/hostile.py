"""A hostile upstream on 127.0.0.1: speaks HTTP/1.1 byte by byte, so it can break the protocol where real servers
misbehave - endless heads, endless bodies, streams that never frame an event, usage counts that are no counts.

The behaviour is chosen by the request's upstream model name (a Model per case points at it), so retries and
failover meet the same answer and nothing is shared between requests. The path says which API's wire format a
valid part takes (``/v1/messages`` Anthropic, anything else OpenAI). Endless answers are generated lazily from
one reused piece, at most ``GIGABYTE`` bytes, and stop as soon as the gateway hangs up: never materialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, get_args

import orjson

from tests.fakes import anthropic_wire, openai_wire, raw_http

Case = Literal[
    "sse_without_blank_lines",
    "endless_header",
    "gigabyte_body",
    "completion_tokens_3e9",
    "negative_tokens",
    "error_json_with_nul",
    "error_invalid_utf8",
    "body_stops_mid_json",
    "event_never_ends",
    "garbage_stream",
]
CASES: tuple[Case, ...] = get_args(Case)
GIGABYTE = 1 << 30
PIECE = 64 << 10
HOSTILE_TOKENS = {"completion_tokens_3e9": 3_000_000_000, "negative_tokens": -5}
NUL_MESSAGE = "upstream\u0000failed \u001b[31mred\u001b[0m " + "!" * 5000
RAW_ERROR = b"upstream \x00 failed \xff\xfe\xc3( half a character \xe2\x82"


def _chunked(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


def _head(status: int, reason: bytes, content_type: bytes, *, length: int | None = None) -> bytes:
    framing = b"Transfer-Encoding: chunked" if length is None else b"Content-Length: %d" % length
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s\r\nConnection: close\r\n\r\n" % (
        status,
        reason,
        content_type,
        framing,
    )


def _json(status: int, body: bytes, content_type: bytes = b"application/json") -> list[bytes]:
    reason = b"OK" if status == 200 else b"Internal Server Error"
    return [_head(status, reason, content_type, length=len(body)), body]


class HostileUpstream(raw_http.LoopbackServer):
    """The server; ``requests`` counts the requests it answered, by case."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, raw = await raw_http.read_request(reader)
            body = orjson.loads(raw) if raw else {}
            path = head.split(b" ")[1].decode()
            case = str(body.get("model", ""))
            self.requests[case] = self.requests.get(case, 0) + 1
            anthropic = path.endswith("/messages")
            for part in self._answer(case, body, anthropic=anthropic):
                writer.write(part)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the gateway hung up: that is what an endless answer is for
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    # -- answers -----------------------------------------------------------------------------------------------

    def _answer(self, case: str, body: Mapping[str, Any], *, anthropic: bool) -> Iterable[bytes]:
        stream = body.get("stream") is True
        answers: dict[str, Callable[[], Iterable[bytes]]] = {
            "sse_without_blank_lines": lambda: self._endless(
                b"text/event-stream", self._events(body, anthropic)[0], _data_line(anthropic)
            ),
            "endless_header": _endless_header,
            "gigabyte_body": lambda: self._endless(b"application/json", b'{"id": "x", "content": "', b"a" * PIECE),
            "completion_tokens_3e9": lambda: self._usage(case, body, anthropic=anthropic, stream=stream),
            "negative_tokens": lambda: self._usage(case, body, anthropic=anthropic, stream=stream),
            "error_json_with_nul": lambda: _json(500, orjson.dumps(_error_body(NUL_MESSAGE, anthropic))),
            "error_invalid_utf8": lambda: _json(500, RAW_ERROR, b"text/plain"),
            "body_stops_mid_json": lambda: self._cut(body, anthropic=anthropic, stream=stream),
            "event_never_ends": lambda: self._endless(
                b"text/event-stream", self._events(body, anthropic)[0], b"x" * PIECE, opening=_open_event(anthropic)
            ),
            "garbage_stream": lambda: self._endless(b"text/event-stream", b"", _garbage()),
        }
        answer = answers.get(case)
        if answer is None:
            return _json(500, orjson.dumps(_error_body(f"no such hostile case {case!r}", anthropic)))
        return answer()

    def _events(self, body: Mapping[str, Any], anthropic: bool) -> list[bytes]:
        if anthropic:
            return anthropic_wire.stream_events(body, "msg_hostile", None)
        return openai_wire.stream_events(body, "chatcmpl-hostile", None)

    def _endless(self, content_type: bytes, first: bytes, piece: bytes, *, opening: bytes = b"") -> Iterable[bytes]:
        yield _head(200, b"OK", content_type)
        if first or opening:
            yield _chunked(first + opening)
        yield from _repeat(piece)

    def _usage(self, case: str, body: Mapping[str, Any], *, anthropic: bool, stream: bool) -> list[bytes]:
        value = HOSTILE_TOKENS[case]
        if not stream:
            reply = (
                anthropic_wire.message(body, "msg_hostile", None)
                if anthropic
                else openai_wire.completion(body, "chatcmpl-hostile", None)
            )
            field = (
                ("output_tokens" if value > 0 else "input_tokens")
                if anthropic
                else ("completion_tokens" if value > 0 else "prompt_tokens")
            )
            reply["usage"][field] = value
            return _json(200, orjson.dumps(reply))
        events = [_with_usage(event, value, anthropic=anthropic) for event in self._events(body, anthropic)]
        return [_head(200, b"OK", b"text/event-stream"), *(_chunked(event) for event in events), b"0\r\n\r\n"]

    def _cut(self, body: Mapping[str, Any], *, anthropic: bool, stream: bool) -> list[bytes]:
        if stream:
            events = self._events(body, anthropic)
            cut = events[3][: len(events[3]) // 2]  # an event that stops mid-JSON, then the connection ends
            return [_head(200, b"OK", b"text/event-stream"), *(_chunked(e) for e in events[:3]), _chunked(cut)]
        reply = (
            anthropic_wire.message(body, "msg_hostile", None)
            if anthropic
            else openai_wire.completion(body, "chatcmpl-hostile", None)
        )
        encoded = orjson.dumps(reply)
        return _json(200, encoded[: len(encoded) // 2])  # framed whole, but the JSON stops in the middle


def _endless_header() -> Iterable[bytes]:
    yield b"HTTP/1.1 200 OK\r\nX-Endless: "
    yield from _repeat(b"a" * PIECE, raw=True)  # the header line never ends


def _repeat(piece: bytes, *, raw: bool = False) -> Iterable[bytes]:
    framed = piece if raw else _chunked(piece)
    for _ in range(GIGABYTE // len(piece)):
        yield framed


def _data_line(anthropic: bool) -> bytes:
    """Lines of well-formed content deltas, never followed by the blank line that would end their event."""
    if anthropic:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "more "}}
    else:
        delta = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "more "}}]}
    line = b"data: " + orjson.dumps(delta) + b"\n"
    return line * (PIECE // len(line))


def _open_event(anthropic: bool) -> bytes:
    """The start of one content event whose text never ends."""
    if anthropic:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {"text": "'
    return b'data: {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "'


def _garbage() -> bytes:
    return random.Random(10).randbytes(PIECE)  # seeded: the same bytes every run, newlines included


def _error_body(message: str, anthropic: bool) -> dict[str, Any]:
    if anthropic:
        return anthropic_wire.error_body("api_error", message)
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


def _with_usage(event: bytes, value: int, *, anthropic: bool) -> bytes:
    """The event with its usage count set to ``value`` (output when positive, input when negative)."""
    name, _, data = event.rpartition(b"data: ")
    if not data.startswith(b"{"):
        return event
    payload = orjson.loads(data)
    usage = payload.get("usage") if not anthropic else (payload.get("message") or payload).get("usage")
    if not isinstance(usage, dict):
        return event
    if anthropic and payload.get("type") == "message_delta" and value > 0:
        usage["output_tokens"] = value
    elif anthropic and payload.get("type") == "message_start" and value < 0:
        usage["input_tokens"] = value
    elif not anthropic:
        usage["completion_tokens" if value > 0 else "prompt_tokens"] = value
    return name + b"data: " + orjson.dumps(payload) + b"\n\n"
