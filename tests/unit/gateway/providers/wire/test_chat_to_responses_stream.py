from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import chat_to_responses, usage
from gateway.providers.wire.chat_to_responses_stream import CUT_SHORT, ChatToResponsesStream
from tests.unit.gateway.providers.wire import payloads, responses_payloads, responses_sdk, responses_streams, strategies

REQUEST = {
    "model": "gpt-alias",
    "input": "Weather in Paris, and the time in Tokyo?",
    "stream": True,
    "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}},
    ],
}


def run(chunks: list[dict[str, Any]], **options: Any) -> tuple[ChatToResponsesStream, list[dict[str, Any]]]:
    translator = ChatToResponsesStream(
        request=options.pop("request", REQUEST), response_id="resp_abc", created_at=1_700_000_000, **options
    )
    events = [e for chunk in chunks for e in translator.feed(chunk)]
    return translator, events + translator.finish()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "qwen3",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_text_and_two_tool_calls_arrive_as_the_full_responses_event_sequence() -> None:
    translator, events = run(payloads.openai_stream())
    response = responses_streams.check_protocol(events)
    for event in events:
        responses_sdk.event(event)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",  # its arguments parse, so it ends when the next call begins
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [(i["type"], i["id"]) for i in response["output"]] == [
        ("message", "msg_abc_0"),
        ("function_call", "fc_abc_1"),
        ("function_call", "fc_abc_2"),
    ]
    assert response["usage"]["input_tokens"] == 120 and response["usage"]["output_tokens"] == 40
    assert response["model"] == "gpt-alias" and response["status"] == "completed"
    assert translator.ended_cleanly and translator.usage == usage.Usage(120, 40)


def test_the_openai_sdk_assembles_the_translated_stream() -> None:
    _, events = run(payloads.openai_stream())
    final = responses_sdk.final_response(events)
    assert final.output_text == "Let me check."
    calls = [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"]
    assert calls == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", '{"city": "Paris"}'),
        ("call_ABC", "get_time", '{"tz": "Asia/Tokyo"}'),
    ]
    assert final.usage is not None and final.usage.total_tokens == 160


def test_reasoning_deltas_become_a_reasoning_item_before_the_message() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "6 times 7 "}),
        chunk({"reasoning_content": "is 42."}),
        chunk({"content": "42"}),
        chunk({}, "stop"),
        {
            "id": "chatcmpl-9",
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 8, "completion_tokens_details": {"reasoning_tokens": 6}},
        },
    ]
    _, events = run(chunks)
    response = responses_streams.check_protocol(events)
    for event in events:
        responses_sdk.event(event)
    kinds = [e["type"] for e in events]
    assert kinds[2:10] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
    ]
    assert response["output"][0]["content"] == [{"type": "reasoning_text", "text": "6 times 7 is 42."}]
    assert response["usage"]["output_tokens_details"] == {"reasoning_tokens": 6}
    final = responses_sdk.final_response(events)
    assert final.output_text == "42"


def test_a_length_stop_ends_in_response_incomplete() -> None:
    translator, events = run([chunk({"content": "Once upon"}), chunk({}, "length")])
    response = responses_streams.check_protocol(events)
    assert events[-1]["type"] == "response.incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    responses_sdk.event(events[-1])
    assert translator.ended_cleanly


def test_an_in_stream_error_ends_in_an_error_event_and_response_failed() -> None:
    error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "param": None, "code": None}}
    translator, events = run([*payloads.openai_stream()[:5], error], input_estimate=50)
    response = responses_streams.check_protocol(events)
    for event in events:
        responses_sdk.event(event)
    assert events[-2] == {
        "type": "error",
        "sequence_number": events[-2]["sequence_number"],
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached",
        "param": None,
    }
    assert response["status"] == "failed"
    assert response["error"] == {"code": "rate_limit_exceeded", "message": "Rate limit reached"}
    assert [(i["type"], i["status"]) for i in response["output"]] == [
        ("message", "completed"),
        ("function_call", "incomplete"),
    ]
    assert response["output"][1]["arguments"] == '{"ci'
    assert not translator.ended_cleanly
    produced = tokens.count("Let me check.") + tokens.count("get_weather") + tokens.count('{"ci')
    assert translator.usage == usage.Usage(50, tokens.estimate(produced), estimated=True)
    assert translator.feed(chunk({"content": "more"})) == [] and translator.finish() == []


def test_a_stream_cut_before_its_finish_reason_fails_instead_of_completing() -> None:
    translator, events = run(payloads.openai_stream()[:3])
    response = responses_streams.check_protocol(events)
    assert response["error"] == {"code": "server_error", "message": CUT_SHORT}
    assert not translator.ended_cleanly


def test_the_caller_can_fail_a_stream_whose_connection_broke() -> None:
    translator = ChatToResponsesStream(request=REQUEST, response_id="resp_abc", created_at=0)
    events = translator.feed(chunk({"content": "Hel"})) + translator.fail("upstream connection reset")
    response = responses_streams.check_protocol(events)
    assert response["error"]["message"] == "upstream connection reset"
    assert translator.output()[0]["content"][0]["text"] == "Hel"
    assert translator.fail("again") == [] and translator.finish() == []


def test_a_call_without_an_id_gets_one_and_fragments_after_the_finish_are_counted() -> None:
    call = {"index": 0, "function": {"name": "get_time", "arguments": "{}"}}
    late = {"index": 0, "function": {"arguments": " "}}
    translator, events = run([chunk({"tool_calls": [call]}, "tool_calls"), chunk({"tool_calls": [late]})])
    response = responses_streams.check_protocol(events)
    assert response["output"][0]["call_id"] == "call_abc_0"
    assert translator.dropped_fragments == 1


def chat_stream(
    reasoning: list[str], pieces: list[str], tools: list[tuple[dict[str, Any], list[str]]], order: list[int]
) -> list[dict[str, Any]]:
    """Reasoning, then text, then tool calls whose fragments interleave as ``order`` picks them."""
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": r}) for r in reasoning]
    out += [chunk({"content": p}) for p in pieces]
    queues = [list(parts) for _, parts in tools]
    opened: list[int] = []
    picks = [i % len(tools) for i in order] if tools else []
    picks += [i for i, q in enumerate(queues) for _ in range(len(q) + 1)]
    for pick in picks:
        index = pick if pick in opened else len(opened)  # calls first appear in index order
        if index not in opened:
            opened.append(index)
            call = {
                "index": index,
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": f"t{index}", "arguments": ""},
            }
            out.append(chunk({"tool_calls": [call]}))
        elif queues[index]:
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": queues[index].pop(0)}}]}))
    out.append(chunk({}, "tool_calls" if tools else "stop"))
    out.append({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}})
    return out


def assembled(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The chat.completion a Chat client would assemble from ``chunks``."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks:
        for choice in c.get("choices") or ():
            delta = choice["delta"]
            for key in ("content", "reasoning_content"):
                if delta.get(key):
                    message[key] = (message.get(key) or "") + delta[key]
            for call in delta.get("tool_calls") or ():
                held = calls.setdefault(
                    call["index"], {"id": call.get("id"), "type": "function", "function": {"name": "", "arguments": ""}}
                )
                held["function"]["name"] += call.get("function", {}).get("name") or ""
                held["function"]["arguments"] += call.get("function", {}).get("arguments") or ""
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": chunks[-1]["usage"]}


@settings(max_examples=60)
@given(
    st.lists(st.text(min_size=1, max_size=8), max_size=3),
    st.lists(st.text(max_size=12), max_size=5),
    st.lists(strategies.object_with_fragments(), max_size=3),
    st.lists(st.integers(0, 100), max_size=20),
)
def test_any_chunking_and_interleaving_streams_the_same_response_as_the_whole_answer(
    reasoning: list[str], pieces: list[str], tools: list[tuple[dict[str, Any], list[str]]], order: list[int]
) -> None:
    chunks = chat_stream(reasoning, pieces, tools, order)
    translator, events = run(chunks)
    response = responses_streams.check_protocol(events)
    whole = chat_to_responses.response(
        assembled(chunks), request=REQUEST, response_id="resp_abc", created_at=0, model="gpt-alias"
    )
    assert response["output"] == whole["output"]
    assert response["usage"] == whole["usage"]
    calls = [i for i in response["output"] if i["type"] == "function_call"]
    assert [orjson.loads(c["arguments"]) for c in calls] == [value for value, _ in tools]
    assert translator.ended_cleanly and translator.dropped_fragments == 0
    final = responses_sdk.final_response(events)
    assert final.output_text == "".join(pieces)


@given(cuts=st.lists(st.integers(1, 60), max_size=6))
def test_a_streamed_function_call_to_a_custom_tool_streams_as_a_custom_call_with_its_input(cuts: list[int]) -> None:
    request = responses_payloads.agent_request()
    arguments = orjson.dumps({"input": '*** Begin Patch\n*** Add File: "a"\n*** End Patch\n'}).decode()
    pieces = [arguments[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(arguments)], strict=True) if a < b]
    head = {"index": 0, "id": "call_R", "type": "function", "function": {"name": "apply_patch", "arguments": ""}}
    chunks = [chunk({"role": "assistant", "tool_calls": [head]})]
    chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in pieces]
    chunks.append(chunk({"content": "applied"}, "tool_calls"))
    _, events = run(chunks, request=request)
    response = responses_streams.check_protocol(events)
    calls = [item for item in response["output"] if item["type"] == "custom_tool_call"]
    assert [(c["call_id"], c["name"], c["input"]) for c in calls] == [
        ("call_R", "apply_patch", '*** Begin Patch\n*** Add File: "a"\n*** End Patch\n')
    ]
    deltas = [e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(deltas) == calls[0]["input"]
    assert not [e for e in events if e["type"].startswith("response.function_call_arguments")]
