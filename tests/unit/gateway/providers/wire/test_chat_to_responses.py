from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import chat_to_responses, openai_responses, responses_objects, responses_to_chat, usage
from tests.unit.gateway.providers.wire import payloads, responses_payloads, responses_sdk


def translate(completion: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    return chat_to_responses.response(
        completion,
        request=request or responses_payloads.agent_request(),
        response_id="resp_67ccd2bed1ec8190",
        created_at=1741569952,
        model="gpt-alias",
    )


def test_a_completion_with_a_tool_call_becomes_a_message_and_a_function_call_item() -> None:
    body = translate(payloads.openai_completion())
    parsed = responses_sdk.response(body)
    assert body["output"] == [
        {
            "type": "message",
            "id": "msg_67ccd2bed1ec8190_0",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Checking the weather.", "annotations": [], "logprobs": []}],
        },
        {
            "type": "function_call",
            "id": "fc_67ccd2bed1ec8190_1",
            "call_id": "call_12345xyz",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "status": "completed",
        },
    ]
    assert parsed.output_text == "Checking the weather."
    assert (body["status"], body["model"], body["created_at"], body["object"]) == (
        "completed",
        "gpt-alias",
        1741569952,
        "response",
    )
    assert body["usage"] == {
        "input_tokens": 82,
        "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
        "output_tokens": 17,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 99,
    }


def test_the_response_echoes_the_requests_settings() -> None:
    body = translate(payloads.openai_completion())
    request = responses_payloads.agent_request()
    for key in ("instructions", "tool_choice", "parallel_tool_calls", "reasoning", "text", "metadata"):
        assert body[key] == request[key], key
    assert body["max_output_tokens"] == 4096 and body["prompt_cache_key"] == "session-42"
    assert [tool["name"] for tool in body["tools"]] == ["shell", "apply_patch"]
    defaults = translate(payloads.openai_completion(), {"model": "m", "input": "hi"})
    responses_sdk.response(defaults)
    assert (defaults["tool_choice"], defaults["parallel_tool_calls"], defaults["tools"]) == (
        "auto",
        True,
        [],
    )
    assert defaults["text"] == {"format": {"type": "text"}}
    nulls = {"model": "m", "input": "hi", "tool_choice": None, "parallel_tool_calls": None, "text": None}
    echoed = responses_sdk.response(translate(payloads.openai_completion(), nulls))
    assert (echoed.tool_choice, echoed.parallel_tool_calls) == ("auto", True)


def test_reasoning_content_becomes_a_reasoning_item_and_length_makes_it_incomplete() -> None:
    body = translate(responses_payloads.chat_reasoning_completion())
    responses_sdk.response(body)
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    reasoning, message = body["output"]
    assert reasoning == {
        "type": "reasoning",
        "id": "rs_67ccd2bed1ec8190_0",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "The user wants a number. 6 times 7 is 42."}],
        "status": "completed",
    }
    assert message["status"] == "incomplete"
    assert body["usage"]["output_tokens_details"] == {"reasoning_tokens": 12}


def test_a_refusal_and_a_content_filter_stop() -> None:
    completion = payloads.openai_completion()
    completion["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    completion["choices"][0]["finish_reason"] = "content_filter"
    body = translate(completion)
    responses_sdk.response(body)
    assert body["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]
    assert body["incomplete_details"] == {"reason": "content_filter"}


def test_a_custom_tool_call_becomes_a_custom_tool_call_item() -> None:
    completion = payloads.openai_completion()
    call = {"id": "call_P", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin Patch"}}
    completion["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    body = translate(completion)
    responses_sdk.response(body)
    assert body["output"] == [
        {
            "type": "custom_tool_call",
            "id": "ctc_67ccd2bed1ec8190_0",
            "call_id": "call_P",
            "name": "apply_patch",
            "input": "*** Begin Patch",
        }
    ]


def test_an_answer_without_usage_or_choices_is_still_a_valid_response() -> None:
    body = translate({"id": "x", "object": "chat.completion", "choices": []})
    responses_sdk.response(body)
    assert body["output"] == [] and body["usage"]["total_tokens"] == 0


def test_usage_read_back_from_a_response_is_the_usage_translated() -> None:
    counted = usage.Usage(input_tokens=10, output_tokens=7, cache_read_tokens=64, cache_write_tokens=5)
    body = {"usage": responses_objects.usage_body(counted, reasoning_tokens=3)}
    assert responses_objects.from_responses(body) == counted
    assert responses_objects.from_responses({"type": "response.completed", "response": body}) == counted
    assert responses_objects.from_responses({"usage": None}) is None


tool_calls = st.lists(
    st.tuples(
        st.from_regex(r"call_[a-zA-Z0-9]{1,8}", fullmatch=True), st.sampled_from(["f", "g"]), st.text(max_size=12)
    ),
    max_size=3,
    unique_by=lambda c: c[0],
)


@given(st.none() | st.text(min_size=1, max_size=20), tool_calls)
def test_the_output_sent_back_as_input_reaches_the_upstream_as_the_assistant_message_it_came_from(
    content: str | None, calls: list[tuple[str, str, str]]
) -> None:
    """A Response's output items, sent back by the client as the next turn's input, translate to the assistant
    message the upstream produced: the conversation survives the trip through the Responses API."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls
        ]
    completion = {"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}
    tools = [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("f", "g")]
    body = translate(completion, {"model": "m", "input": "hi", "tools": tools})
    responses_sdk.response(body)
    outputs = [{"type": "function_call_output", "call_id": i, "output": "ok"} for i, _, _ in calls]
    items = [{"role": "user", "content": "hi"}, *body["output"], *outputs]
    next_turn = {"model": "m", "input": items, "tools": tools}
    openai_responses.validate_request(next_turn)
    chat = responses_to_chat.request(next_turn)
    if content is None and not calls:
        assert len(chat["messages"]) == 1
        return
    assert chat["messages"][1] == message


def test_a_function_call_to_a_custom_tool_becomes_a_custom_tool_call_item_with_the_input_taken_out() -> None:
    completion = payloads.openai_completion()
    arguments = '{"input": "*** Begin Patch\\n*** End Patch\\n"}'
    call = {"id": "call_Q", "type": "function", "function": {"name": "apply_patch", "arguments": arguments}}
    completion["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    body = translate(completion)
    responses_sdk.response(body)
    assert body["output"] == [
        {
            "type": "custom_tool_call",
            "id": "ctc_67ccd2bed1ec8190_0",
            "call_id": "call_Q",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** End Patch\n",
        }
    ]
