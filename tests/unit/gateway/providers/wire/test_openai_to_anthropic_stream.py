from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import tool_ids, usage
from gateway.providers.wire.openai_to_anthropic_stream import OpenAIToAnthropicStream
from tests.unit.gateway.providers.wire import payloads, strategies, streams


def run(chunks: list[dict[str, Any]], **options: Any) -> tuple[OpenAIToAnthropicStream, list[dict[str, Any]]]:
    translator = OpenAIToAnthropicStream(**options)
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        out.extend(translator.feed(chunk))
    out.extend(translator.finish())
    return translator, out


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_text_and_two_tool_calls_arrive_as_anthropic_blocks() -> None:
    translator, events = run(payloads.openai_stream(), model="claude-alias")
    streams.check_anthropic_protocol(events)
    assert events[0]["message"]["model"] == "claude-alias"
    assert streams.anthropic_blocks(events) == [
        {"type": "text", "text": "Let me check."},
        {
            "type": "tool_use",
            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
        {"type": "tool_use", "id": "call_ABC", "name": "get_time", "input": {"tz": "Asia/Tokyo"}},
    ]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert events[-2]["usage"]["output_tokens"] == 40 and events[-2]["usage"]["input_tokens"] == 120
    assert translator.ended_cleanly
    assert translator.usage == usage.Usage(120, 40)


def test_sequential_tool_calls_are_sent_one_block_at_a_time_like_anthropic() -> None:
    _, events = run(payloads.openai_stream())
    kinds = [(e["type"], e.get("index")) for e in events if e["type"].startswith("content_block_")]
    stops = [i for kind, i in kinds if kind == "content_block_stop"]
    starts = [i for kind, i in kinds if kind == "content_block_start"]
    assert stops == starts == [0, 1, 2]
    # each block stops before the next one starts
    assert kinds.index(("content_block_stop", 1)) < kinds.index(("content_block_start", 2))


def test_the_callers_input_count_is_shown_in_message_start() -> None:
    _, events = run(payloads.openai_stream(), input_tokens=118)
    assert events[0]["message"]["usage"] == {
        "input_tokens": 118,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_cache_reads_and_writes_of_the_usage_chunk_reach_the_final_message_delta() -> None:
    chunks = payloads.openai_stream()
    chunks[-1]["usage"] |= {"prompt_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 30}}
    translator, events = run(chunks)
    assert events[-2]["usage"] == {
        "input_tokens": 10,
        "output_tokens": 40,
        "cache_read_input_tokens": 80,
        "cache_creation_input_tokens": 30,
    }
    assert translator.usage == usage.Usage(10, 40, cache_read_tokens=80, cache_write_tokens=30)


def test_empty_chunks_and_a_leading_role_chunk_open_nothing() -> None:
    _, events = run([chunk({"role": "assistant", "content": ""}), chunk({}), {"id": "x", "choices": []}])
    streams.check_anthropic_protocol(events)
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]


def test_a_stream_without_a_finish_reason_still_ends_in_a_whole_message() -> None:
    translator, events = run(payloads.openai_stream()[:5], input_tokens=50)
    streams.check_anthropic_protocol(events)
    assert events[-2]["delta"]["stop_reason"] == "max_tokens"
    assert not translator.ended_cleanly
    produced = tokens.estimate_text("Let me check." + "get_weather" + '{"ci')
    assert translator.usage == usage.Usage(50, produced, estimated=True)


def test_an_in_stream_error_becomes_an_anthropic_error_event() -> None:
    error = {"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}}
    translator, events = run([*payloads.openai_stream()[:3], error])
    assert events[-1] == {
        "type": "error",
        "error": {"type": "api_error", "message": "The server had an error"},
    }
    assert not translator.ended_cleanly


def test_ids_anthropic_refuses_are_encoded_and_missing_ids_are_made_up() -> None:
    first = {"index": 0, "id": "functions.lookup:0", "function": {"name": "lookup", "arguments": "{}"}}
    second = {"index": 1, "function": {"name": "lookup", "arguments": "{}"}}
    _, events = run([chunk({"tool_calls": [first]}), chunk({"tool_calls": [second]}, "tool_calls")])
    blocks = streams.anthropic_blocks(events)
    assert tool_ids.from_anthropic(blocks[0]["id"]) == "functions.lookup:0"
    assert blocks[1]["id"] == "toolu_chatcmpl-9_1"


def test_text_after_a_tool_call_opens_a_new_text_block() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"a": 1}'}}
    _, events = run([chunk({"tool_calls": [call]}), chunk({"content": "done"}, "stop")])
    streams.check_anthropic_protocol(events)
    assert streams.anthropic_blocks(events) == [
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
        {"type": "text", "text": "done"},
    ]


def openai_chunks(
    pieces: list[str], tools: list[tuple[dict[str, Any], list[str]]], order: list[int], empties: list[int]
) -> list[dict[str, Any]]:
    """Text first, then the tool calls' fragments interleaved as ``order`` picks them, empty chunks between.

    As in OpenAI's streams, tool calls first appear in index order; their later fragments may interleave.
    """
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in pieces]
    queues = [list(parts) for _, parts in tools]
    opened: set[int] = set()
    picks = [i % len(tools) for i in order] if tools else []
    picks += [i for i, q in enumerate(queues) for _ in range(len(q) + 1)]
    for n, pick in enumerate(picks):
        index = pick if pick in opened else len(opened)
        if index not in opened:
            opened.add(index)
            call = {
                "index": index,
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": f"t{index}", "arguments": ""},
            }
            out.append(chunk({"tool_calls": [call]}))
        elif queues[index]:
            fragment = queues[index].pop(0)
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
        if n in empties:
            out.append(chunk({}))
    out.append(chunk({}, "tool_calls" if tools else "stop"))
    out.append({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}})
    return out


@given(
    st.lists(st.text(max_size=12), max_size=6),
    st.lists(strategies.object_with_fragments(), max_size=3),
    st.lists(st.integers(0, 100), max_size=30),
    st.lists(st.integers(0, 40), max_size=5),
)
def test_any_chunking_and_interleaving_keeps_text_and_tool_arguments(
    pieces: list[str], tools: list[tuple[dict[str, Any], list[str]]], order: list[int], empties: list[int]
) -> None:
    translator, events = run(openai_chunks(pieces, tools, order, empties))
    streams.check_anthropic_protocol(events)
    blocks = streams.anthropic_blocks(events)
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    assert text == "".join(pieces)
    uses = [b for b in blocks if b["type"] == "tool_use"]
    assert [(b["id"], b["input"]) for b in uses] == [(f"call_{i}", value) for i, (value, _) in enumerate(tools)]
    assert translator.ended_cleanly
    assert translator.dropped_fragments == 0
