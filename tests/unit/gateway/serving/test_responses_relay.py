"""The Responses relay: native events go out unchanged and are read for usage and the finished Response; any
stream that stops early ends with ``error`` and ``response.failed`` numbered after the last event; translated
streams come out as the official SDK reads them, however the upstream bytes were cut."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers.wire import sse
from gateway.serving.responses_dialects import Route
from gateway.serving.responses_relay import ResponsesRelay
from tests.fakes import responses_wire
from tests.unit.gateway.providers.wire import payloads, responses_sdk

REQUEST = {"model": "alias", "input": "one two three", "stream": True}


def native_stream() -> list[bytes]:
    return responses_wire.stream_events(REQUEST, "resp_up1", None, [])


def relay(route: Route = Route.NATIVE) -> ResponsesRelay:
    return ResponsesRelay(route, REQUEST, response_id="resp_tk", created_at=0, input_estimate=42)


def events_of(data: bytes) -> list[dict[str, Any]]:
    decoder = sse.SseDecoder()
    return [event.json() for event in decoder.feed(data) + decoder.flush()]


def cuts(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut into pieces at arbitrary places (inside events, inside UTF-8 sequences)."""

    def split(points: list[int]) -> list[bytes]:
        edges = [0, *sorted(set(points)), len(data)]
        return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]

    return st.lists(st.integers(1, max(1, len(data) - 1)), max_size=12).map(split)


@given(st.data())
def test_a_native_stream_goes_out_as_it_came_and_is_read_for_usage(data: st.DataObject) -> None:
    whole = b"".join(native_stream())
    state = relay()
    out = b"".join(state.feed(piece) for piece in data.draw(cuts(whole))) + state.finish()
    assert out == whole
    assert state.ended and state.upstream_error is None
    assert state.final is not None and state.final["id"] == "resp_up1"
    usage = state.usage
    assert (usage.input_tokens, usage.output_tokens, usage.estimated) == (3, 4, False)


def test_a_native_stream_cut_short_ends_failed_numbered_after_its_last_event() -> None:
    events = native_stream()
    state = relay()
    out = b"".join(state.feed(event) for event in events[:5]) + state.finish("the upstream stream broke off")
    sent = events_of(out)
    assert [e["type"] for e in sent[-2:]] == ["error", "response.failed"]
    assert [e["sequence_number"] for e in sent] == list(range(len(sent)))
    failed = sent[-1]["response"]
    assert failed["id"] == "resp_up1" and failed["status"] == "failed"
    assert failed["error"]["message"] == "the upstream stream broke off"
    assert state.final is None and state.upstream_error == "the upstream stream broke off"
    assert state.usage.estimated and state.usage.input_tokens == 42 and state.usage.output_tokens > 0
    for event in sent:
        responses_sdk.EVENTS.validate_python(event)  # not strictly: the upstream's own fields pass as they came


def test_a_native_error_event_is_followed_by_response_failed_once() -> None:
    events = native_stream()[:3]
    error = responses_wire.error_event({"error": {"message": "overloaded", "type": "server_error"}}, 3)
    state = relay()
    out = b"".join(state.feed(event) for event in [*events, error]) + state.finish()
    kinds = [e["type"] for e in events_of(out)]
    assert kinds[-2:] == ["error", "response.failed"] and kinds.count("error") == 1
    assert state.upstream_error == "overloaded"


def test_an_upstream_that_stops_after_its_error_event_gets_response_failed_added() -> None:
    events = native_stream()[:3]
    error = responses_wire.sse({"type": "error", "sequence_number": 3, "code": "x", "message": "boom", "param": None})
    state = relay()
    out = b"".join(state.feed(event) for event in [*events, error]) + state.finish()
    sent = events_of(out)
    assert [e["type"] for e in sent[-2:]] == ["error", "response.failed"]
    assert sent[-1]["sequence_number"] == 4 and sent[-1]["response"]["error"]["message"] == "boom"


@settings(deadline=None, max_examples=30)
@given(st.data())
def test_a_translated_chat_stream_is_read_by_the_sdk_however_it_was_cut(data: st.DataObject) -> None:
    whole = b"".join(sse.encode_openai(chunk) for chunk in payloads.openai_stream()) + b"data: [DONE]\n\n"
    state = relay(Route.CHAT)
    out = b"".join(state.feed(piece) for piece in data.draw(cuts(whole))) + state.finish()
    sent = events_of(out)
    for event in sent:
        responses_sdk.event(event)
    final = responses_sdk.final_response(sent)
    assert final.status == "completed" and state.final is not None and state.final["id"] == "resp_tk"
    assert final.usage is not None and state.usage.output_tokens == final.usage.output_tokens


def test_a_translated_anthropic_stream_ends_completed_with_its_usage() -> None:
    events = payloads.anthropic_stream()
    state = relay(Route.ANTHROPIC)
    out = b"".join(state.feed(sse.encode_anthropic(event)) for event in events) + state.finish()
    sent = events_of(out)
    assert sent[-1]["type"] == "response.completed"
    assert state.final is not None and state.upstream_error is None
    assert state.usage.output_tokens == sent[-1]["response"]["usage"]["output_tokens"]


def test_keep_alive_noise_is_not_relayed() -> None:
    state = relay()
    assert state.feed(b": ping\n\n") == b""
    assert state.feed(b"data: not json\n\n") == b""
    assert orjson.loads(state.finish().split(b"data: ")[-1])["type"] == "response.failed"


def test_an_upstream_error_event_reaches_the_client_rebuilt_from_safe_fields() -> None:
    hostile = {"type": "error", "sequence_number": 2, "code": "x", "message": "key sk-\x1b[31m" + "y" * 5000}
    state = relay()
    out = state.feed(b"".join(native_stream()[:2]) + responses_wire.sse(hostile)) + state.finish()
    error = next(e for e in events_of(out) if e["type"] == "error")
    assert "\x1b" not in error["message"] and len(error["message"]) <= 2000
    assert set(error) == {"type", "sequence_number", "code", "message", "param"}
    assert state.upstream_error == error["message"]


def test_usage_that_is_no_count_ends_the_stream_failed_instead_of_being_charged() -> None:
    done = responses_wire.response(REQUEST, "resp_up1", None, [])
    done["usage"]["output_tokens"] = -7
    bad = responses_wire.sse({"type": "response.completed", "sequence_number": 20, "response": done})
    state = relay()
    out = b"".join(state.feed(event) for event in native_stream()[:-1]) + state.feed(bad)
    assert state.ended and [e["type"] for e in events_of(out)][-2:] == ["error", "response.failed"]
    assert state.final is None and state.usage.estimated
    assert state.upstream_error is not None and "usage" in state.upstream_error


def test_an_upstream_that_sends_nothing_usable_is_cut() -> None:
    state = relay()
    state.feed(native_stream()[0])
    out = b""
    for _ in range(10):
        out += state.feed(b": keep-alive\n" * (1 << 20))  # comment lines: well-formed, never an event
        if state.ended:
            break
    assert state.ended and [e["type"] for e in events_of(out)] == ["error", "response.failed"]
    assert state.feed(b"data: {}\n\n") == b"", "nothing more is read once it failed"
