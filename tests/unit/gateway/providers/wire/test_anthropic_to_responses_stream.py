from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers.wire import anthropic_to_responses, reasoning_state, usage
from gateway.providers.wire.anthropic_to_responses_stream import AnthropicToResponsesStream
from gateway.providers.wire.chat_to_responses_stream import CUT_SHORT
from tests.unit.gateway.providers.wire import payloads, responses_sdk, responses_streams, strategies

REQUEST = {"model": "claude-alias", "input": "Weather in Paris?", "stream": True}


def run(events: list[dict[str, Any]], **options: Any) -> tuple[AnthropicToResponsesStream, list[dict[str, Any]]]:
    translator = AnthropicToResponsesStream(request=REQUEST, response_id="resp_abc", created_at=0, **options)
    out = [e for event in events for e in translator.feed(event)]
    return translator, out + translator.finish()


def with_thinking(thinking: list[str], signature: str) -> list[dict[str, Any]]:
    """Anthropic's sample stream with a thinking block first, and cache reads and writes in its usage."""
    events = payloads.anthropic_stream()
    events[0]["message"]["usage"] |= {"cache_read_input_tokens": 100, "cache_creation_input_tokens": 10}
    for event in events:
        if "index" in event:
            event["index"] += 1
    block = [{"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}]
    block += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}}
        for t in thinking
    ]
    block += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature}},
        {"type": "content_block_stop", "index": 0},
    ]
    return [events[0], *block, *events[1:]]


def message_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The Message an Anthropic client would assemble from ``events``."""
    message = dict(events[0]["message"])
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
        if event["type"] == "content_block_start":
            blocks[event["index"]] = dict(event["content_block"]) | {"_json": ""}
        elif event["type"] == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            key = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}.get(
                delta["type"]
            )
            if key:
                block[key] = block.get(key, "") + delta[key]
            else:
                block["_json"] += delta["partial_json"]
        elif event["type"] == "message_delta":
            message["stop_reason"] = event["delta"]["stop_reason"]
            message["usage"] = message["usage"] | event["usage"]
    content = []
    for _, block in sorted(blocks.items()):
        raw = block.pop("_json")
        if block["type"] == "tool_use":
            block["input"] = orjson.loads(raw) if raw else {}
        content.append(block)
    return message | {"content": content}


def comparable(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Output items with arguments parsed: a stream passes the upstream's JSON spelling on, a Message is re-encoded."""
    return [i | {"arguments": orjson.loads(i["arguments"])} if i["type"] == "function_call" else i for i in output]


def test_thinking_text_and_tool_calls_arrive_as_responses_events_with_cache_usage() -> None:
    translator, events = run(with_thinking(["Paris is ", "in France."], "EqQBCgIYAhIM"))
    response = responses_streams.check_protocol(events)
    for event in events:
        responses_sdk.event(event)
    kinds = [e["type"] for e in events]
    assert kinds[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    reasoning = response["output"][0]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Paris is in France."}]
    assert reasoning_state.decode(reasoning["encrypted_content"]) == {
        "type": "thinking",
        "thinking": "Paris is in France.",
        "signature": "EqQBCgIYAhIM",
    }
    assert [i["type"] for i in response["output"]] == ["reasoning", "message", "function_call", "function_call"]
    assert response["output"][2]["call_id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert response["usage"] == {
        "input_tokens": 582,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 10},
        "output_tokens": 89,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 671,
    }
    assert translator.ended_cleanly and translator.usage == usage.Usage(472, 89, 100, 10)
    final = responses_sdk.final_response(events)
    assert final.output_text == "Okay, let me check both."


def test_the_stream_shows_what_the_whole_message_shows() -> None:
    events = with_thinking(["a", "b"], "sig")
    _, out = run(events)
    whole = anthropic_to_responses.response(message_of(events), request=REQUEST, response_id="resp_abc", created_at=0)
    responses_sdk.response(whole)
    assert comparable(out[-1]["response"]["output"]) == comparable(whole["output"])
    assert out[-1]["response"]["usage"] == whole["usage"]


def test_an_omitted_thinking_display_still_carries_the_signature() -> None:
    events = with_thinking([], "EqQBCgIYAhIM")
    _, out = run(events)
    reasoning = responses_streams.check_protocol(out)["output"][0]
    assert reasoning["summary"] == []
    assert reasoning_state.decode(reasoning["encrypted_content"]) == {
        "type": "thinking",
        "thinking": "",
        "signature": "EqQBCgIYAhIM",
    }


def test_redacted_thinking_and_a_call_without_arguments() -> None:
    events = [
        payloads.anthropic_stream()[0],
        {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "EmwKAhgB"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    _, out = run(events)
    response = responses_streams.check_protocol(out)
    for event in out:
        responses_sdk.event(event)
    assert reasoning_state.decode(response["output"][0]["encrypted_content"]) == {
        "type": "redacted_thinking",
        "data": "EmwKAhgB",
    }
    assert response["output"][1]["arguments"] == "{}"
    whole = anthropic_to_responses.response(message_of(events), request=REQUEST, response_id="resp_abc", created_at=0)
    assert response["output"] == whole["output"]


def test_a_max_tokens_stop_is_incomplete() -> None:
    events = payloads.anthropic_stream()
    events[-2]["delta"]["stop_reason"] = "max_tokens"
    _, out = run(events)
    assert out[-1]["type"] == "response.incomplete"
    assert out[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_an_error_event_and_a_cut_stream_end_in_response_failed() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    translator, out = run([*payloads.anthropic_stream()[:5], overloaded])
    response = responses_streams.check_protocol(out)
    for event in out:
        responses_sdk.event(event)
    assert response["error"] == {"code": "server_error", "message": "Overloaded"}
    assert response["output"][0]["content"][0]["text"] == "Okay, let me check both."
    assert not translator.ended_cleanly
    translator, out = run(payloads.anthropic_stream()[:9])
    assert responses_streams.check_protocol(out)["error"]["message"] == CUT_SHORT
    assert not translator.ended_cleanly


@settings(max_examples=50)
@given(
    st.lists(st.text(min_size=1, max_size=8), max_size=3),
    st.lists(st.text(min_size=1, max_size=10), max_size=4),
    st.lists(strategies.object_with_fragments(), max_size=3),
)
def test_any_anthropic_stream_shows_the_same_response_as_its_whole_message(
    thinking: list[str], texts: list[str], tools: list[tuple[dict[str, Any], list[str]]]
) -> None:
    events: list[dict[str, Any]] = [payloads.anthropic_stream()[0]]
    index = 0

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
        index += 1

    if thinking:
        block({"type": "thinking", "thinking": ""}, [{"type": "thinking_delta", "thinking": t} for t in thinking])
    if texts:
        block({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in texts])
    for n, (_, parts) in enumerate(tools):
        start = {"type": "tool_use", "id": f"toolu_{n}", "name": "f", "input": {}}
        block(start, [{"type": "input_json_delta", "partial_json": p} for p in parts])
    events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}})
    events.append({"type": "message_stop"})
    _, out = run(events)
    response = responses_streams.check_protocol(out)
    whole = anthropic_to_responses.response(message_of(events), request=REQUEST, response_id="resp_abc", created_at=0)
    assert comparable(response["output"]) == comparable(whole["output"])
    calls = [orjson.loads(i["arguments"]) for i in response["output"] if i["type"] == "function_call"]
    assert calls == [value for value, _ in tools]
