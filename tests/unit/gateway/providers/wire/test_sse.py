from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import sse
from gateway.providers.wire.errors import MalformedUpstream


def decode_all(chunks: list[bytes]) -> list[sse.SseEvent]:
    decoder = sse.SseDecoder()
    events: list[sse.SseEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.flush()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


ANTHROPIC_BYTES = (
    "event: message_start\r\n"
    'data: {"type":"message_start","message":{"id":"msg_1"}}\r\n'
    "\r\n"
    ": keep-alive comment\n"
    "event: content_block_delta\n"
    'data: {"type":"content_block_delta",'
    '"delta":{"type":"text_delta","text":"h\u00e9llo \u2603 \U0001f600"}}\n'
    "\n"
    "event: ping\r"
    'data: {"type": "ping"}\r'
    "\r"
).encode()


def test_anthropic_events_come_out_with_their_names_and_data() -> None:
    events = decode_all([ANTHROPIC_BYTES])
    assert [e.event for e in events] == ["message_start", "content_block_delta", "ping"]
    assert events[1].json()["delta"]["text"] == "h\u00e9llo \u2603 \U0001f600"


def test_openai_done_terminator_is_recognised() -> None:
    events = decode_all([b'data: {"id":"c1"}\n\ndata: [DONE]\n\n'])
    assert [e.is_done for e in events] == [False, True]
    assert events[0].event is None


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = decode_all([b"data: first\ndata:second\ndata\n\n"])
    assert events == [sse.SseEvent("first\nsecond\n")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert decode_all([b"event: ping\n\n: only a comment\n\n"]) == []


def test_id_and_retry_fields_are_kept() -> None:
    events = decode_all([b"id: 7\nretry: 1500\ndata: x\n\n"])
    assert events == [sse.SseEvent("x", None, "7", 1500)]


def test_a_leading_byte_order_mark_is_ignored() -> None:
    assert decode_all([b"\xef\xbb", b"\xbfdata: x\n\n"]) == [sse.SseEvent("x")]


def test_a_last_event_without_its_blank_line_is_still_delivered_at_flush() -> None:
    assert decode_all([b"data: a\n\ndata: [DONE]\n"]) == [sse.SseEvent("a"), sse.SseEvent("[DONE]")]


def test_a_cut_final_line_is_dropped_at_flush() -> None:
    assert decode_all([b'data: a\n\ndata: {"trunc']) == [sse.SseEvent("a")]


def test_a_carriage_return_split_from_its_line_feed_makes_one_line_break() -> None:
    assert decode_all([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]) == [sse.SseEvent("a"), sse.SseEvent("b")]


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_any_split_of_the_bytes_decodes_to_the_same_events(cuts: list[int]) -> None:
    assert decode_all(split_at(ANTHROPIC_BYTES, cuts)) == decode_all([ANTHROPIC_BYTES])


field_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=20)


@given(
    st.lists(st.tuples(st.none() | field_text, st.lists(field_text, min_size=1, max_size=3)), max_size=6),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
)
def test_generated_streams_decode_the_same_for_any_split(
    events: list[tuple[str | None, list[str]]], newline: str, cuts: list[int]
) -> None:
    text = ""
    for name, lines in events:
        if name is not None:
            text += f"event: {name}{newline}"
        text += "".join(f"data: {line}{newline}" for line in lines) + newline
    data = text.encode()
    whole = decode_all([data])
    assert [e.data for e in whole] == ["\n".join(lines) for _, lines in events]
    assert decode_all(split_at(data, cuts)) == whole


def test_encoders_write_what_the_decoder_reads_back() -> None:
    chunk = {"id": "c", "choices": [{"delta": {"content": "\u00e9\n"}}]}
    event = {"type": "content_block_stop", "index": 0}
    data = sse.encode_openai(chunk) + sse.OPENAI_DONE + sse.encode_anthropic(event)
    decoded = decode_all([data])
    assert decoded[0].json() == chunk
    assert decoded[1].is_done
    assert decoded[2].event == "content_block_stop" and orjson.loads(decoded[2].data) == event


def test_an_event_whose_blank_line_never_comes_is_cut_at_the_cap() -> None:
    decoder = sse.SseDecoder(max_event=10_000)
    line = b'data: {"choices": []}\n'
    with pytest.raises(MalformedUpstream, match="10000 characters"):
        for _ in range(10_000):
            decoder.feed(line)


def test_a_line_that_never_ends_is_cut_at_the_cap_even_when_trickled() -> None:
    decoder = sse.SseDecoder(max_event=10_000)
    assert decoder.feed(b"data: ") == []
    with pytest.raises(MalformedUpstream):
        for _ in range(20_000):
            decoder.feed(b"x")


def test_an_event_just_under_the_cap_is_decoded() -> None:
    decoder = sse.SseDecoder(max_event=10_000)
    payload = "y" * 9_000
    events = [e for piece in split_at(f"data: {payload}\n\n".encode(), [1000, 5000, 9003]) for e in decoder.feed(piece)]
    assert events == [sse.SseEvent(payload)]


def test_the_cap_counts_the_event_in_progress_not_the_stream() -> None:
    decoder = sse.SseDecoder(max_event=1_000)
    events = [e for _ in range(100) for e in decoder.feed(b"data: " + b"z" * 500 + b"\n\n")]
    assert len(events) == 100


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=30), st.integers(min_value=0, max_value=3))
def test_splits_and_a_generous_cap_change_nothing(cuts: list[int], extra: int) -> None:
    decoder = sse.SseDecoder(max_event=len(ANTHROPIC_BYTES) + extra)
    events = [e for piece in split_at(ANTHROPIC_BYTES, cuts) for e in decoder.feed(piece)]
    assert events + decoder.flush() == decode_all([ANTHROPIC_BYTES])
