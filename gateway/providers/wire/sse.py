"""Incremental Server-Sent Events decoding and the two APIs' event encodings.

``SseDecoder.feed`` takes bytes cut anywhere - inside a UTF-8 sequence, between ``\\r`` and ``\\n`` - and
returns the events completed so far, following the WHATWG parsing rules (``\\r\\n``, ``\\r`` or ``\\n`` end a
line; ``:`` starts a comment; ``data`` lines join with ``\\n``; an event without data is not dispatched). One
deliberate leniency: ``flush`` dispatches a last event whose blank line never came, so a stream that ends in
``data: [DONE]\\n`` is not lost; a final line without its line break is still dropped, as it may be cut short.

Bounded: the event being assembled - its data lines (each also counted ``LINE_COST`` for its object) and the
unfinished line - may hold at most ``MAX_EVENT_BYTES`` characters; past that ``feed`` raises
``MalformedUpstream`` (an event without its blank line, a line without its line break, growing forever). The cap
leaves room for the largest real events, inline images of a few MB. A line still waiting for its break is kept
as a list of pieces, so a trickled endless line costs linear time.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.providers.wire.errors import MalformedUpstream

MAX_EVENT_BYTES = 8 << 20
LINE_COST = 64  # counted per data line held, beyond its characters: about a str object and its list slot
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
    def __init__(self, max_event: int = MAX_EVENT_BYTES) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._max_event = max_event
        self._pending: list[str] = []  # pieces of the line after the last complete one
        self._pending_size = 0
        self._cr = False  # the pending line ends with "\r", which may be the first half of "\r\n"
        self._started = False
        self._data: list[str] = []
        self._data_size = 0
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        text = self._utf8.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if not self._cr and "\n" not in text and "\r" not in text:
            self._hold(text)  # no line ends here: nothing to scan again later
            return []
        return self._lines(self._take_pending() + text, final=False)

    def flush(self) -> list[SseEvent]:
        """Events still held at the end of the stream (see the module docstring for what is kept)."""
        events = self._lines(self._take_pending() + self._utf8.decode(b"", final=True), final=True)
        if self._data:
            events.append(self._dispatch())
        self._data, self._data_size, self._event = [], 0, None
        self._take_pending()
        return events

    def _take_pending(self) -> str:
        pending = "".join(self._pending)
        self._pending, self._pending_size, self._cr = [], 0, False
        return pending

    def _hold(self, piece: str) -> None:
        if piece:
            self._pending.append(piece)
            self._pending_size += len(piece)
            self._check()

    def _check(self) -> None:
        if self._pending_size + self._data_size > self._max_event:
            raise MalformedUpstream(f"an SSE event grew past {self._max_event} characters without ending")

    def _lines(self, text: str, *, final: bool) -> list[SseEvent]:
        # A trailing "\r" may be the first half of "\r\n": hold it back until the next chunk shows which.
        hold_cr = not final and text.endswith("\r")
        if hold_cr:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        rest = lines.pop()
        events: list[SseEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = None
            elif line[0] != ":":
                self._field(line)
        self._hold(rest + ("\r" if hold_cr else ""))
        self._cr = hold_cr
        self._check()
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._data_size += len(value) + LINE_COST  # a held line costs its object as well as its text
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> SseEvent:
        event = SseEvent("\n".join(self._data), self._event, self._id, self._retry)
        self._data, self._data_size, self._event = [], 0, None
        return event


def split_complete(data: bytes) -> tuple[bytes, bytes]:
    """``data`` cut after its last blank line: the complete ``\\n``-framed events, and what still waits for more.

    For streams without ``\\r`` only (the caller checks): there a blank line is exactly ``\\n\\n``.
    """
    end = data.rfind(b"\n\n")
    if end < 0:
        return b"", data
    return data[: end + 2], data[end + 2 :]


def plain_region(region: bytes, *, named: bool) -> bool:
    """Whether every event of ``region`` (complete, ``\\n``-framed) is one ``data: {...}`` line, after one ``event:``
    line when ``named``: the shape of both APIs' streams, checked with a few scans instead of a loop per event."""
    events = region.count(b"\n\n")
    if named:
        return (
            region.count(b"\n") == 3 * events
            and region.startswith(b"event: ")
            and region.count(b"\n\nevent: ") == events - 1
            and region.count(b"\ndata: {") == events
            and region.count(b"}\n\n") == events
        )
    return (
        region.count(b"\n") == 2 * events
        and region.startswith(b"data: {")
        and region.count(b"\n\ndata: {") == events - 1
        and region.count(b"}\n\n") == events
    )


def first_block_with(region: bytes, needles: tuple[bytes, ...]) -> int:
    """The offset in ``region`` of the first event that contains one of ``needles``; ``len(region)`` if none does."""
    found = [at for at in (region.find(needle) for needle in needles) if at >= 0]
    if not found:
        return len(region)
    cut = region.rfind(b"\n\n", 0, min(found))
    return 0 if cut < 0 else cut + 2


def encode_openai(chunk: dict[str, Any]) -> bytes:
    """One OpenAI stream chunk (or in-stream ``{"error": ...}`` object) as an SSE event."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def encode_anthropic(event: dict[str, Any]) -> bytes:
    """One Anthropic stream event, named by its ``type`` as Anthropic's own streams name them."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
