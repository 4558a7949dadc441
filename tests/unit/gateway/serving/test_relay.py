"""The relay of same-API streams: bytes forwarded without re-parsing must mean exactly what the full decoder sees.

Each stream is relayed twice - framed with ``\\n`` (the byte pass-through) and with ``\\r\\n`` (which takes the
full SSE decoder) - cut at arbitrary places; the client must receive the same events, and the gateway must count
the same usage and see the same ending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import error_bodies, sse
from gateway.serving import relay
from gateway.serving.dialects import ClientApi

INPUT_ESTIMATE = 11
text_pieces = st.lists(st.text(max_size=12), min_size=1, max_size=8)
cuts = st.lists(st.integers(min_value=0, max_value=4_000), max_size=12)


def openai_stream(pieces: list[str], *, usage: bool, done: bool) -> list[bytes]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks: list[dict[str, Any]] = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    chunks += [{**head, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        chunks.append({**head, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 7}})
    events = [b"data: " + orjson.dumps(c) for c in chunks]
    return [*events, b"data: [DONE]"] if done else events


def anthropic_stream(pieces: list[str], *, usage: bool, done: bool) -> list[bytes]:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**message, "usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces]
    events.append({"type": "content_block_stop", "index": 0})
    if usage:
        events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}})
    if done:
        events.append({"type": "message_stop"})
    return [b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) for e in events]


def frame(events: list[bytes], newline: bytes) -> bytes:
    return b"".join(e.replace(b"\n", newline) + newline + newline for e in events)


def split_at(data: bytes, positions: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in positions})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def run(api: ClientApi, data: bytes, positions: list[int], request: dict[str, Any]) -> tuple[Any, ...]:
    dialect = "anthropic" if api is ClientApi.ANTHROPIC else "openai"
    state = relay.Relay(api, dialect, request, INPUT_ESTIMATE)
    out = b"".join(state.feed(part) for part in split_at(data, positions)) + state.finish()
    decoder = sse.SseDecoder()
    events = [(e.event, e.data if e.is_done else orjson.loads(e.data)) for e in decoder.feed(out) + decoder.flush()]
    return events, state.usage, state.ended_cleanly, state.upstream_error


def same_either_way(api: ClientApi, events: list[bytes], positions: list[int], request: dict[str, Any]) -> Any:
    raw = run(api, frame(events, b"\n"), positions, request)
    assert raw == run(api, frame(events, b"\r\n"), positions, request)
    return raw


@given(text_pieces, st.booleans(), st.booleans(), cuts)
def test_openai_streams_mean_the_same_through_the_byte_pass_through(
    pieces: list[str], usage: bool, wants_usage: bool, positions: list[int]
) -> None:
    request = {"stream_options": {"include_usage": True}} if wants_usage else {}
    events, counted, clean, error = same_either_way(
        ClientApi.OPENAI, openai_stream(pieces, usage=usage, done=True), positions, request
    )
    assert clean and error is None
    assert events[-1] == (None, "[DONE]")
    assert any("usage" in data for _, data in events[:-1]) == (usage and wants_usage)
    if usage:
        assert (counted.input_tokens, counted.output_tokens, counted.estimated) == (9, 7, False)
    else:
        estimate = tokens.estimate_text("".join(pieces))
        assert (counted.input_tokens, counted.output_tokens, counted.estimated) == (INPUT_ESTIMATE, estimate, True)


@given(text_pieces, st.booleans(), cuts)
def test_anthropic_streams_mean_the_same_through_the_byte_pass_through(
    pieces: list[str], usage: bool, positions: list[int]
) -> None:
    events, counted, clean, error = same_either_way(
        ClientApi.ANTHROPIC, anthropic_stream(pieces, usage=usage, done=True), positions, {}
    )
    assert clean and error is None
    assert events[-1][0] == "message_stop"
    expected_output = 7 if usage else max(1, tokens.estimate_text("".join(pieces)))
    assert (counted.input_tokens, counted.output_tokens, counted.estimated) == (9, expected_output, not usage)


@given(text_pieces, cuts)
def test_a_stream_cut_short_is_charged_for_its_text_and_ends_with_an_error(
    pieces: list[str], positions: list[int]
) -> None:
    events, counted, clean, error = same_either_way(
        ClientApi.OPENAI, openai_stream(pieces, usage=False, done=False), positions, {}
    )
    assert not clean and error == "the upstream stream ended early"
    assert events[-1][1]["error"]["code"] == "stream_broken"
    assert counted.output_tokens == tokens.estimate_text("".join(pieces))


def test_comments_and_multi_line_events_still_go_through_the_decoder() -> None:
    data = b': keep-alive\n\ndata: {"choices": [{"index": 0,\ndata:  "delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
    events, counted, clean, _ = run(ClientApi.OPENAI, data, [7, 30], {})
    assert events == [(None, {"choices": [{"index": 0, "delta": {"content": "hi"}}]}), (None, "[DONE]")]
    assert clean and counted.output_tokens == 1


def test_a_last_event_without_its_blank_line_still_ends_the_stream() -> None:
    stream = frame(openai_stream(["hello"], usage=True, done=False), b"\n") + b"data: [DONE]\n"
    events, counted, clean, error = run(ClientApi.OPENAI, stream, [], {})
    assert clean and error is None
    assert events[-1] == (None, "[DONE]") and [e for e in events if e[1] == "[DONE]"] == [events[-1]]
    assert counted.output_tokens == 7


def test_an_error_event_in_the_stream_is_seen_and_forwarded() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    stream = frame([*openai_stream(["a"], usage=False, done=False)[:2], b"data: " + orjson.dumps(error)], b"\n")
    events, _, clean, seen = run(ClientApi.OPENAI, stream, [], {})
    assert not clean and seen == "overloaded"
    assert (None, {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}}) in events


def test_unparsed_payloads_are_counted_once_they_pass_the_memory_bound() -> None:
    big = "x" * 4096
    state = relay.Relay(ClientApi.OPENAI, "openai", {}, INPUT_ESTIMATE)
    pieces = [big] * (relay.UNREAD_LIMIT // 4096 + 2)
    state.feed(frame(openai_stream(pieces, usage=False, done=False), b"\n"))
    assert state.unread_bytes <= relay.UNREAD_LIMIT
    assert state.usage.output_tokens == tokens.estimate_text(big * len(pieces))


def relay_until_failed(
    api: ClientApi, chunks: Iterator[bytes], request: dict[str, Any] | None = None
) -> tuple[relay.Relay, bytes, int]:
    """Feed ``chunks`` the way the pump does - stopping once the relay has failed; the output and bytes fed."""
    dialect = "anthropic" if api is ClientApi.ANTHROPIC else "openai"
    state = relay.Relay(api, dialect, request or {}, INPUT_ESTIMATE)
    out, fed = b"", 0
    for chunk in chunks:
        out += state.feed(chunk)
        fed += len(chunk)
        if state.failed:
            break
    return state, out + state.finish(), fed


def forever(*pieces: bytes) -> Iterator[bytes]:
    """The pieces once, then the last one repeated (bounded, far past any cap: 64 MiB)."""
    yield from pieces[:-1]
    for _ in range((64 << 20) // len(pieces[-1])):
        yield pieces[-1]


def error_event(out: bytes) -> Any:
    decoder = sse.SseDecoder()
    return orjson.loads([e for e in decoder.feed(out) + decoder.flush() if not e.is_done][-1].data)


HEAD = frame(openai_stream(["hi"], usage=False, done=False)[:2], b"\n")
HOSTILE: dict[str, Callable[[], Iterator[bytes]]] = {
    "lines-without-blank-lines": lambda: forever(
        HEAD, b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\n'
    ),
    "an-event-that-never-ends": lambda: forever(HEAD, b'data: {"choices": [{"delta": {"content": "', b"y" * 65536),
    "garbage": lambda: forever(HEAD, bytes(range(256)) * 256),
    "garbage-with-blank-lines": lambda: forever(HEAD, b"garbage\n\n" * 4096),
    "a-carriage-return-stream-that-never-ends": lambda: forever(b"data: {}\r\n\r\n", b"data: 1\r" * 8192),
}


@pytest.mark.parametrize("api", [ClientApi.OPENAI, ClientApi.ANTHROPIC])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_stream_is_cut_near_the_cap_and_ends_with_an_error_event(name: str, api: ClientApi) -> None:
    state, out, fed = relay_until_failed(api, HOSTILE[name]())
    assert state.failed and fed <= relay.MAX_UNUSABLE_BYTES + (2 << 20)
    assert state.upstream_error is not None and "without" in state.upstream_error
    error = error_event(out)
    message = error["error"]["message"]
    assert message == state.upstream_error
    assert state.usage.estimated and state.usage.output_tokens >= 0


def test_absurd_usage_is_not_relayed_and_the_stream_is_charged_by_estimate() -> None:
    events = openai_stream(["some text"], usage=False, done=False)
    events.append(b'data: {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3000000000}}')
    events.append(b"data: [DONE]")
    wants_usage = {"stream_options": {"include_usage": True}}
    state, out, _ = relay_until_failed(ClientApi.OPENAI, iter([frame(events, b"\n")]), wants_usage)
    assert state.failed and b'"completion_tokens":3000000000' not in out.replace(b" ", b"")
    assert "completion_tokens = 3000000000" in error_event(out)["error"]["message"]
    assert (state.usage.input_tokens, state.usage.estimated) == (INPUT_ESTIMATE, True)
    assert 0 < state.usage.output_tokens < 100


@pytest.mark.parametrize("value", [b"-5", b"12.5", b'"12"', b"true"])
def test_negative_or_non_integer_anthropic_usage_fails_the_stream(value: bytes) -> None:
    events = anthropic_stream(["hello"], usage=False, done=False)
    events.append(b'event: message_delta\ndata: {"type": "message_delta", "usage": {"output_tokens": ' + value + b"}}")
    events.append(b'event: message_stop\ndata: {"type": "message_stop"}')
    state, out, _ = relay_until_failed(ClientApi.ANTHROPIC, iter([frame(events, b"\n")]))
    assert state.failed and not state.ended_cleanly
    assert error_event(out)["type"] == "error"
    assert state.usage.output_tokens >= 1 and state.usage.estimated


def test_an_upstream_error_event_with_nul_and_escapes_reaches_the_client_safe() -> None:
    error = {"error": {"message": "boom\u0000\u001b[31m" + "!" * 5000, "type": "server_error"}}
    stream = frame([*openai_stream(["a"], usage=False, done=False)[:2], b"data: " + orjson.dumps(error)], b"\n")
    state, out, _ = relay_until_failed(ClientApi.OPENAI, iter([stream]))
    message = error_event(out)["error"]["message"]
    assert "\x00" not in message and "\x1b" not in message and message.startswith("boom\ufffd\ufffd[31m")
    assert len(message) <= error_bodies.MESSAGE_LIMIT and state.upstream_error == message
