"""Incremental Server-Sent Events decoding and the two APIs' event encodings.

``SseDecoder.feed`` takes bytes cut anywhere - inside a UTF-8 sequence, between ``\\r`` and ``\\n`` - and
returns the events completed so far, following the WHATWG parsing rules (``\\r\\n``, ``\\r`` or ``\\n`` end a
line; ``:`` starts a comment; ``data`` lines join with ``\\n``; an event without data is not dispatched). One
deliberate leniency: ``flush`` dispatches a last event whose blank line never came, so a stream that ends in
``data: [DONE]\\n`` is not lost; a final line without its line break is still dropped, as it may be cut short.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

import orjson

DONE = "[DONE]"
OPENAI_DONE = b"data: [DONE]\n\n"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SseEvent:
    data: str
    event: str | None = None  # the ``event:`` field; ``None`` stands for the default type, "message"
    id: str | None = None
    retry: int | None = None

    @property
    def is_done(self) -> bool:
        """Whether this is OpenAI's ``data: [DONE]`` terminator."""
        return self.data == DONE

    def json(self) -> Any:
        return orjson.loads(self.data)


class SseDecoder:
    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""  # text after the last complete line
        self._started = False
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        text = self._utf8.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        return self._lines(self._pending + text, final=False)

    def flush(self) -> list[SseEvent]:
        """Events still held at the end of the stream (see the module docstring for what is kept)."""
        events = self._lines(self._pending + self._utf8.decode(b"", final=True), final=True)
        if self._data:
            events.append(self._dispatch())
        self._data, self._event, self._pending = [], None, ""
        return events

    def _lines(self, text: str, *, final: bool) -> list[SseEvent]:
        # A trailing "\r" may be the first half of "\r\n": hold it back until the next chunk shows which.
        hold_cr = not final and text.endswith("\r")
        if hold_cr:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self._pending = lines.pop() + ("\r" if hold_cr else "")
        events: list[SseEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = None
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> SseEvent:
        event = SseEvent("\n".join(self._data), self._event, self._id, self._retry)
        self._data, self._event = [], None
        return event


def split_complete(data: bytes) -> tuple[bytes, bytes]:
    """``data`` cut after its last blank line: the complete ``\\n``-framed events, and what still waits for more.

    For streams without ``\\r`` only (the caller checks): there a blank line is exactly ``\\n\\n``.
    """
    end = data.rfind(b"\n\n")
    if end < 0:
        return b"", data
    return data[: end + 2], data[end + 2 :]


def simple_event(block: bytes) -> tuple[bytes | None, bytes] | None:
    """The name and data of an event block that is an optional ``event:`` line and one ``data:`` line.

    ``None`` for anything else (comments, ids, multi-line data), which needs the full decoder.
    """
    name: bytes | None = None
    if block.startswith(b"event:"):
        head, _, block = block.partition(b"\n")
        name = head[6:].removeprefix(b" ")
    if not block.startswith(b"data:") or b"\n" in block:
        return None
    return name, block[5:].removeprefix(b" ")


def decode_block(block: bytes) -> list[SseEvent]:
    """The events of one complete block of a ``\\n``-framed stream, through the full decoder."""
    decoder = SseDecoder()
    return decoder.feed(block + b"\n\n")


def encode_openai(chunk: dict[str, Any]) -> bytes:
    """One OpenAI stream chunk (or in-stream ``{"error": ...}`` object) as an SSE event."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def encode_anthropic(event: dict[str, Any]) -> bytes:
    """One Anthropic stream event, named by its ``type`` as Anthropic's own streams name them."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
