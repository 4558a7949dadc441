from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import sse, usage
from gateway.providers.wire.anthropic_to_openai_stream import AnthropicToOpenAIStream
from tests.unit.gateway.providers.wire import payloads, strategies, streams


def run(events: list[dict[str, Any]], **options: Any) -> tuple[AnthropicToOpenAIStream, list[dict[str, Any]]]:
    translator = AnthropicToOpenAIStream(created=1_700_000_000, **options)
    out: list[dict[str, Any]] = []
    for event in events:
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return translator, out


def test_text_and_two_tool_calls_arrive_as_openai_deltas() -> None:
    translator, chunks = run(payloads.anthropic_stream())
    streams.check_openai_order(chunks)
    assert streams.openai_text(chunks) == "Okay, let me check both."
    assert streams.openai_tool_calls(chunks) == {
        0: {"id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        1: {"id": "toolu_01ABCdef234GHIjkl567MNOp", "name": "get_time", "arguments": '{"tz": "Asia/Tokyo"}'},
    }
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 472, "completion_tokens": 89, "total_tokens": 561}
    assert {c["id"] for c in chunks} == {"msg_014p7gG3wDgGV9EUtLvnow3U"}
    assert translator.ended_cleanly
    assert translator.usage == usage.Usage(472, 89)


def test_cache_reads_and_writes_reach_the_usage_chunk() -> None:
    events = payloads.anthropic_stream()
    events[0]["message"]["usage"] |= {"cache_read_input_tokens": 1000, "cache_creation_input_tokens": 300}
    translator, chunks = run(events)
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 1772,
        "completion_tokens": 89,
        "total_tokens": 1861,
        "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 300},
    }
    assert translator.usage == usage.Usage(472, 89, cache_read_tokens=1000, cache_write_tokens=300)


def test_the_model_can_be_shown_under_the_clients_name() -> None:
    _, chunks = run(payloads.anthropic_stream(), model="my-alias")
    assert {c["model"] for c in chunks} == {"my-alias"}


def test_without_include_usage_no_usage_chunk_is_sent() -> None:
    _, chunks = run(payloads.anthropic_stream(), include_usage=False)
    streams.check_openai_order(chunks, include_usage=False)


def test_a_stream_cut_mid_text_is_closed_with_length_and_estimated_usage() -> None:
    translator, chunks = run(payloads.anthropic_stream()[:5])
    streams.check_openai_order(chunks)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == tokens.estimate_text("Okay, let me check both.")
    assert not translator.ended_cleanly
    assert translator.usage.estimated


def test_a_stream_that_sent_nothing_still_gets_a_whole_answer() -> None:
    translator, chunks = run([])
    streams.check_openai_order(chunks)
    assert not translator.ended_cleanly


def test_finish_after_a_clean_end_adds_nothing() -> None:
    translator, _ = run(payloads.anthropic_stream())
    assert translator.finish() == []


def test_an_error_event_becomes_an_openai_error_object_and_ends_the_stream() -> None:
    events = payloads.anthropic_stream()[:4]
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    translator, chunks = run(events + payloads.anthropic_stream()[4:])
    assert chunks[-1] == {
        "error": {"message": "Overloaded", "type": "server_error", "param": None, "code": "overloaded_error"}
    }
    assert not translator.ended_cleanly


def test_thinking_travels_as_reasoning_content() -> None:
    events = payloads.anthropic_stream()
    thinking = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Two cities."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQB"},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    _, chunks = run(events[:1] + thinking + events[1:])
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in chunks if c["choices"]]
    assert [r for r in reasoning if r] == ["Two cities."]


def anthropic_events(pieces: list[str], tools: list[list[str]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [payloads.anthropic_stream()[0]]
    events.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces]
    events.append({"type": "content_block_stop", "index": 0})
    for n, fragments in enumerate(tools, start=1):
        block = {"type": "tool_use", "id": f"toolu_{n}", "name": f"tool_{n}", "input": {}}
        events.append({"type": "content_block_start", "index": n, "content_block": block})
        for fragment in fragments:
            delta = {"type": "input_json_delta", "partial_json": fragment}
            events.append({"type": "content_block_delta", "index": n, "delta": delta})
        events.append({"type": "content_block_stop", "index": n})
    events.append({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}})
    events.append({"type": "message_stop"})
    return events


@given(
    st.lists(st.text(max_size=12), max_size=8),
    st.lists(strategies.object_with_fragments(), max_size=3),
    st.lists(st.integers(0, 10_000), max_size=25),
)
def test_any_chunking_of_an_anthropic_stream_keeps_text_and_tool_arguments(
    pieces: list[str], tools: list[tuple[dict[str, Any], list[str]]], cuts: list[int]
) -> None:
    data = b"".join(sse.encode_anthropic(e) for e in anthropic_events(pieces, [f for _, f in tools]))
    decoder = sse.SseDecoder()
    translator = AnthropicToOpenAIStream(created=0)
    chunks: list[dict[str, Any]] = []
    points = sorted({c % (len(data) + 1) for c in cuts})
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        for event in decoder.feed(data[start:end]):
            chunks.extend(translator.feed(event.json()))
    for event in decoder.flush():
        chunks.extend(translator.feed(event.json()))
    chunks.extend(translator.finish())
    streams.check_openai_order(chunks)
    assert streams.openai_text(chunks) == "".join(pieces)
    calls = streams.openai_tool_calls(chunks)
    assert [orjson.loads(calls[i]["arguments"]) for i in sorted(calls)] == [value for value, _ in tools]
    assert translator.ended_cleanly
