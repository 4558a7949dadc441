from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import (
    anthropic_messages,
    anthropic_to_responses,
    openai_responses,
    reasoning_state,
    responses_to_anthropic,
)
from gateway.providers.wire.errors import Untranslatable
from tests.unit.gateway.providers.wire import payloads, responses_payloads, responses_sdk, strategies


def function_only(request: dict[str, Any]) -> dict[str, Any]:
    """The agent request with function tools only (custom tools through Anthropic: test_tool_namespaces.py)."""
    request["tools"] = [t for t in request["tools"] if t["type"] == "function"]
    request["input"] = [i for i in request["input"] if not str(i.get("type", "")).startswith("custom_tool_call")]
    return request


def test_an_agents_turn_becomes_an_anthropic_conversation() -> None:
    request = function_only(responses_payloads.agent_request())
    out = responses_to_anthropic.request(request, model="claude-sonnet-4-5")
    anthropic_messages.validate_request(out)
    assert out["system"] == [
        {"type": "text", "text": "You are a coding agent running in a terminal."},
        {"type": "text", "text": "<permissions>workspace-write</permissions>"},
    ]
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "List the files, then describe this screenshot."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": payloads.PNG_B64}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I'll list the files."},
                {"type": "tool_use", "id": "call_Xy12", "name": "shell", "input": {"command": ["ls", "-la"]}},
            ],
        },
        # the reasoning item's encrypted content is OpenAI's: opaque here, so dropped
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_Xy12", "content": "README.md\nsrc\n"}],
        },
    ]
    assert out["tools"] == [
        {
            "name": "shell",
            "description": "Runs a shell command and returns its output.",
            "input_schema": responses_payloads.shell_tool()["parameters"],
        }
    ]
    assert out["tool_choice"] == {"type": "auto"}
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4095}  # medium is 8192, capped below max_tokens
    assert (out["max_tokens"], out["stream"]) == (4096, True)


def test_effort_becomes_a_thinking_budget_below_max_tokens() -> None:
    request: dict[str, Any] = {"model": "m", "input": "hi", "reasoning": {"effort": "high"}}
    out = responses_to_anthropic.request(request)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert out["max_tokens"] == 16384 + 4096
    assert "thinking" not in responses_to_anthropic.request(request | {"reasoning": {"effort": "none"}})
    assert "thinking" not in responses_to_anthropic.request(request | {"max_output_tokens": 1000})
    with pytest.raises(Untranslatable) as caught:
        responses_to_anthropic.request(request | {"temperature": 0.5})
    assert caught.value.param == "temperature"
    tools = [{"type": "function", "name": "f"}]
    with pytest.raises(Untranslatable) as caught:
        responses_to_anthropic.request(request | {"tools": tools, "tool_choice": "required"})
    assert caught.value.param == "tool_choice"


def test_a_schema_becomes_a_system_instruction_and_sampling_is_kept() -> None:
    out = responses_to_anthropic.request(responses_payloads.structured_request())
    anthropic_messages.validate_request(out)
    assert "calendar_event" in out["system"] and '"required":["name","day"]' in out["system"]
    assert (out["temperature"], out["top_p"], out["metadata"]) == (0.2, 0.9, {"user_id": "user-1234"})


def test_tool_results_keep_their_images_and_parallel_calls_can_be_turned_off() -> None:
    image = {"type": "input_image", "image_url": f"data:image/png;base64,{payloads.PNG_B64}"}
    request = {
        "model": "m",
        "input": [
            {"role": "user", "content": "look"},
            {"type": "function_call", "call_id": "functions.view:0", "name": "view", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "functions.view:0", "output": [image]},
        ],
        "tools": [{"type": "function", "name": "view"}],
        "parallel_tool_calls": False,
    }
    out = responses_to_anthropic.request(request)
    anthropic_messages.validate_request(out)
    result = out["messages"][2]["content"][0]
    assert result["content"][0]["source"]["data"] == payloads.PNG_B64
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


REFUSED = [
    (
        {"tools": [{"type": "namespace", "name": "n" * 40, "tools": [{"type": "function", "name": "f" * 30}]}]},
        "tools[0].tools[0].name",
    ),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    (
        {"input": [{"type": "local_shell_call", "id": "x", "call_id": "c", "action": {}, "status": "completed"}]},
        "input[0].type",
    ),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}, "input[0].content[0]"),
    (
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,AA"}]}]},
        "input[0].content[0].image_url",
    ),
    ({"previous_response_id": "resp_1"}, "previous_response_id"),
    ({"top_logprobs": 2}, "top_logprobs"),
]


@pytest.mark.parametrize(("fields", "param"), REFUSED)
def test_what_anthropic_cannot_express_is_refused_naming_it(fields: dict[str, Any], param: str) -> None:
    request = {"model": "m", "input": "hi"} | fields
    openai_responses.validate_request(request)
    with pytest.raises(Untranslatable) as caught:
        responses_to_anthropic.request(request)
    assert caught.value.param == param


signatures = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=", min_size=1, max_size=40
)


@given(
    st.text(max_size=40),
    signatures,
    st.booleans(),
    st.text(min_size=1, max_size=12),
    strategies.json_objects,
)
def test_thinking_blocks_come_back_to_anthropic_untouched_through_a_responses_client(
    thinking: str, signature: str, redacted: bool, tool_id: str, tool_input: dict[str, Any]
) -> None:
    """A thinking model's tool-use turn, shown to a Responses client and sent back by it with the tool's
    output, reaches Anthropic as the very blocks Anthropic produced: signature and all."""
    first = (
        {"type": "redacted_thinking", "data": signature}
        if redacted
        else {"type": "thinking", "thinking": thinking, "signature": signature}
    )
    tool_use = {"type": "tool_use", "id": tool_id, "name": "lookup", "input": tool_input}
    message = payloads.anthropic_message() | {"content": [first, tool_use], "stop_reason": "tool_use"}
    tools = [{"type": "function", "name": "lookup"}]
    shown = anthropic_to_responses.response(
        message, request={"model": "m", "input": "hi", "tools": tools}, response_id="resp_1", created_at=0
    )
    responses_sdk.response(shown)
    assert all(reasoning_state.is_anthropic(i) for i in shown["output"] if i["type"] == "reasoning")
    call = shown["output"][1]
    next_turn = {
        "model": "m",
        "input": [
            {"role": "user", "content": "hi"},
            *shown["output"],
            {"type": "function_call_output", "call_id": call["call_id"], "output": "found"},
        ],
        "tools": tools,
        "reasoning": {"effort": "low"},
    }
    openai_responses.validate_request(next_turn)
    out = responses_to_anthropic.request(next_turn)
    anthropic_messages.validate_request(out)
    assistant = out["messages"][1]["content"]
    assert assistant[0] == first
    assert assistant[1]["name"] == "lookup" and assistant[1]["input"] == tool_input
    assert out["messages"][2]["content"][0]["tool_use_id"] == assistant[1]["id"]
