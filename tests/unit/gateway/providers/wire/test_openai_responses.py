from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import openai_responses, reasoning_state
from gateway.providers.wire.errors import Untranslatable, WireError
from tests.unit.gateway.providers.wire import responses_payloads


def test_an_agents_request_and_a_structured_request_are_valid_and_kept_whole() -> None:
    for request in (responses_payloads.agent_request(), responses_payloads.structured_request()):
        assert openai_responses.parse_request(orjson.dumps(request)) == request


def test_a_string_input_is_one_user_message() -> None:
    request = responses_payloads.structured_request()
    assert openai_responses.input_items(request) == [
        {"type": "message", "role": "user", "content": "Extract the event: Alice and Bob meet on Friday."}
    ]
    assert openai_responses.input_items({"model": "m"}) == []


def test_items_and_tools_of_types_not_known_here_are_kept_for_a_native_upstream() -> None:
    request = {
        "model": "m",
        "input": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}, {"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search"}, {"type": "some_future_tool", "option": 1}],
    }
    openai_responses.validate_request(request)
    assert openai_responses.builtin_tools(request) == [("tools[0]", "web_search"), ("tools[1]", "some_future_tool")]


def test_builtin_tools_are_reported_with_a_forced_choice_and_refused_naming_the_first() -> None:
    request = responses_payloads.agent_request()
    assert openai_responses.builtin_tools(request) == []
    openai_responses.refuse_builtin_tools(request)
    request["tools"].append({"type": "local_shell"})
    request["tool_choice"] = {"type": "file_search"}
    assert openai_responses.builtin_tools(request) == [("tools[2]", "local_shell"), ("tool_choice", "file_search")]
    with pytest.raises(Untranslatable) as caught:
        openai_responses.refuse_builtin_tools(request)
    assert caught.value.param == "tools[2].type"
    assert "'local_shell' is a built-in tool" in caught.value.message
    request["tools"].pop()
    with pytest.raises(Untranslatable) as caught:
        openai_responses.refuse_builtin_tools(request)
    assert caught.value.param == "tool_choice.type"


def edit(path: str, value: Any) -> dict[str, Any]:
    """The agent request with the value at a dotted path (``input.2.summary``) replaced, or removed for ``...``."""
    request = responses_payloads.agent_request()
    *parents, last = path.split(".")
    holder: Any = request
    for key in parents:
        holder = holder[int(key)] if isinstance(holder, list) else holder[key]
    key_or_index: Any = int(last) if isinstance(holder, list) else last
    if value is ...:
        del holder[key_or_index]
    else:
        holder[key_or_index] = value
    return request


INVALID = [
    ("model", ..., "model", "is required"),
    ("input", {"role": "user"}, "input", "expected an array, got an object"),
    ("input.1.role", "tool", "input[1].role", "expected one of 'user', 'assistant', 'system', 'developer'"),
    ("input.1.content.1.type", "output_text", "input[1].content[1].type", "got 'output_text'"),
    ("input.1.content.1.image_url", ..., "input[1].content[1]", "needs image_url or file_id"),
    ("input.1.content.1.detail", "ultra", "input[1].content[1].detail", "got 'ultra'"),
    ("input.3.content.0.type", "input_image", "input[3].content[0].type", "got 'input_image'"),
    ("input.2.summary", ..., "input[2].summary", "is required"),
    ("input.2.encrypted_content", 5, "input[2].encrypted_content", "expected a string, got an integer"),
    ("input.4.call_id", "", "input[4].call_id", "must not be empty"),
    ("input.4.arguments", {"command": []}, "input[4].arguments", "expected a string, got an object"),
    ("input.5.call_id", "call_other", "input[5].call_id", "no tool call found"),
    ("input.5", ..., "input[4]", "no function_call_output found for the tool call with call_id 'call_Xy12'"),
    ("input.7.type", "function_call_output", "input[7].type", "whose output must be a custom_tool_call_output"),
    ("input.7.output", [{"type": "refusal", "refusal": "no"}], "input[7].output[0].type", "got 'refusal'"),
    ("tools.0.name", "run shell", "tools[0].name", "must be 1-64 characters"),
    ("tools.0.parameters", "{}", "tools[0].parameters", "expected an object, got a string"),
    ("tools.1.format", {"syntax": "lark"}, "tools[1].format.type", "is required"),
    ("tool_choice", "any", "tool_choice", "got 'any'"),
    ("tool_choice", {"type": "function", "name": "nope"}, "tool_choice.name", "names no tool in tools: 'nope'"),
    ("tool_choice", {"type": "allowed_tools", "mode": "auto", "tools": []}, "tool_choice.tools", "must not be empty"),
    ("parallel_tool_calls", "yes", "parallel_tool_calls", "expected a boolean, got a string"),
    ("reasoning.effort", "maximum", "reasoning.effort", "got 'maximum'"),
    ("text.verbosity", "terse", "text.verbosity", "got 'terse'"),
    ("text.format", {"type": "json_schema", "name": "x"}, "text.format.schema", "is required"),
    ("text.format", {"type": "xml"}, "text.format.type", "got 'xml'"),
    ("max_output_tokens", 8, "max_output_tokens", "must be at least 16, got 8"),
    ("store", "false", "store", "expected a boolean, got a string"),
    ("metadata", {"k": 1}, "metadata.k", "expected a string, got an integer"),
    ("metadata", {f"k{i}": "v" for i in range(17)}, "metadata", "allows at most 16 pairs, got 17"),
    ("previous_response_id", "", "previous_response_id", "must not be empty"),
    ("stream", ..., "stream_options", None),
    ("temperature", 2.5, "temperature", "must be between 0 and 2, got 2.5"),
]


@pytest.mark.parametrize(("path", "value", "param", "message"), INVALID)
def test_invalid_requests_are_refused_naming_the_field(path: str, value: Any, param: str, message: str | None) -> None:
    request = edit(path, value)
    if path == "stream":
        request["stream_options"] = {"include_obfuscation": False}
    with pytest.raises(WireError) as caught:
        openai_responses.validate_request(request)
    assert caught.value.param == param
    assert message is None or message in caught.value.message


def test_an_output_may_answer_a_call_of_the_previous_response() -> None:
    request = {
        "model": "m",
        "previous_response_id": "resp_1",
        "input": [{"type": "function_call_output", "call_id": "call_1", "output": "42"}],
    }
    openai_responses.validate_request(request)
    del request["previous_response_id"]
    with pytest.raises(WireError, match="no tool call found"):
        openai_responses.validate_request(request)


def test_previous_response_id_and_conversation_exclude_each_other() -> None:
    with pytest.raises(WireError) as caught:
        openai_responses.validate_request({"model": "m", "previous_response_id": "resp_1", "conversation": "c_1"})
    assert caught.value.param == "previous_response_id"


def test_a_native_upstream_gets_its_model_name_and_no_anthropic_thinking_state() -> None:
    request = responses_payloads.agent_request()
    assert orjson.loads(openai_responses.prepare_upstream(request, "gpt-5")) == request | {"model": "gpt-5"}
    thinking = reasoning_state.encode({"type": "thinking", "thinking": "t", "signature": "s"})
    request["input"].insert(3, {"type": "reasoning", "id": "rs_9", "summary": [], "encrypted_content": thinking})
    sent = orjson.loads(openai_responses.prepare_upstream(request, "gpt-5"))
    assert sent["input"] == responses_payloads.agent_request()["input"]  # OpenAI's own reasoning item is kept
