"""Namespaced and custom (free-form input) tools through upstreams without them, both ways, streams included.

Codex offers both (``multi_agent_v1`` is a namespace; ``apply_patch`` a custom tool with a lark grammar): a
translated upstream gets the namespace's tools flat and a custom tool as a tool taking one string (Anthropic),
and the calls it makes come back as the client's own kinds of call, valid for the official SDK.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import (
    anthropic_messages,
    anthropic_to_responses,
    chat_to_responses,
    openai_chat,
    openai_responses,
    responses_to_anthropic,
    responses_to_chat,
    tool_namespaces,
)
from gateway.providers.wire.anthropic_to_responses_stream import AnthropicToResponsesStream
from gateway.providers.wire.chat_to_responses_stream import ChatToResponsesStream
from tests.unit.gateway.providers.wire import responses_sdk

PARAMETERS = {"type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}
AGENTS = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Sub-agents.",
    "tools": [
        {"type": "function", "name": "spawn_agent", "description": "Start one.", "parameters": PARAMETERS},
        {"type": "function", "name": "close_agent", "parameters": PARAMETERS},
    ],
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch"},
}
PATCH_TEXT = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch\n"


def request(**fields: Any) -> dict[str, Any]:
    body = {"model": "m", "input": "go", "tools": [AGENTS, PATCH]} | fields
    openai_responses.validate_request(body)
    return body


def test_a_namespace_goes_to_chat_as_flat_functions() -> None:
    chat = responses_to_chat.request(request())
    openai_chat.validate_request(chat)
    names = [tool.get("function", tool.get("custom", {})).get("name") for tool in chat["tools"]]
    assert names == ["multi_agent_v1__spawn_agent", "multi_agent_v1__close_agent", "apply_patch"]
    assert chat["tools"][0]["function"]["description"] == "Sub-agents. Start one."


def test_a_namespaced_call_in_the_conversation_goes_up_under_its_flat_name() -> None:
    items = [
        {"role": "user", "content": "go"},
        {
            "type": "function_call",
            "call_id": "c1",
            "namespace": "multi_agent_v1",
            "name": "spawn_agent",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "c1", "output": "started"},
    ]
    chat = responses_to_chat.request(request(input=items))
    assert chat["messages"][1]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"
    anthropic = responses_to_anthropic.request(request(input=items))
    assert anthropic["messages"][1]["content"][0]["name"] == "multi_agent_v1__spawn_agent"


def chat_completion(name: str, arguments: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"id": "x", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}


def test_a_chat_call_of_a_flat_name_comes_back_namespaced() -> None:
    body = chat_completion("multi_agent_v1__spawn_agent", '{"target":"a"}')
    response = chat_to_responses.response(body, request=request(), response_id="resp_1", created_at=0)
    parsed = responses_sdk.response(response)
    (call,) = [item for item in parsed.output if item.type == "function_call"]
    assert (call.namespace, call.name, call.arguments) == ("multi_agent_v1", "spawn_agent", '{"target":"a"}')


def test_a_streamed_chat_call_of_a_flat_name_comes_back_namespaced() -> None:
    translator = ChatToResponsesStream(request=request(stream=True), response_id="resp_1", created_at=0)
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "multi_agent_v1__close_agent"}}
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [first]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    events = [e for chunk in chunks for e in translator.feed(chunk)] + translator.finish()
    for event in events:
        responses_sdk.event(event)
    final = responses_sdk.final_response(events)
    (call,) = final.output
    assert call.type == "function_call" and (call.namespace, call.name) == ("multi_agent_v1", "close_agent")


def test_a_custom_tool_goes_to_anthropic_as_a_tool_taking_one_string() -> None:
    out = responses_to_anthropic.request(request())
    anthropic_messages.validate_request(out)
    patch = out["tools"][2]
    assert patch["name"] == "apply_patch" and patch["description"] == "Apply a patch."
    assert patch["input_schema"]["required"] == ["input"]
    assert "start: begin_patch hunk+ end_patch" in patch["input_schema"]["properties"]["input"]["description"]
    assert [tool["name"] for tool in out["tools"][:2]] == ["multi_agent_v1__spawn_agent", "multi_agent_v1__close_agent"]


def test_custom_calls_and_outputs_in_the_conversation_become_tool_use_and_tool_result() -> None:
    items = [
        {"role": "user", "content": "patch it"},
        {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": PATCH_TEXT},
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
    ]
    out = responses_to_anthropic.request(request(input=items))
    anthropic_messages.validate_request(out)
    use = out["messages"][1]["content"][0]
    assert (use["type"], use["name"], use["input"]) == ("tool_use", "apply_patch", {"input": PATCH_TEXT})
    result = out["messages"][2]["content"][0]
    assert (result["type"], result["tool_use_id"], result["content"]) == ("tool_result", use["id"], "Done!")


def message_with(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [block],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def test_anthropics_call_of_a_custom_tool_comes_back_as_a_custom_tool_call() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": PATCH_TEXT}}
    response = anthropic_to_responses.response(
        message_with(block), request=request(), response_id="resp_1", created_at=0
    )
    (call,) = responses_sdk.response(response).output
    assert call.type == "custom_tool_call" and (call.name, call.input) == ("apply_patch", PATCH_TEXT)


def test_anthropics_call_of_a_flat_name_comes_back_namespaced() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "multi_agent_v1__spawn_agent", "input": {"target": "x"}}
    response = anthropic_to_responses.response(
        message_with(block), request=request(), response_id="resp_1", created_at=0
    )
    (call,) = responses_sdk.response(response).output
    assert call.type == "function_call" and (call.namespace, call.name) == ("multi_agent_v1", "spawn_agent")


def anthropic_tool_stream(name: str, pieces: list[str]) -> list[dict[str, Any]]:
    start = {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}
    return [
        {"type": "message_start", "message": message_with(start) | {"content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": start},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]


def stream_through_anthropic(name: str, pieces: list[str]) -> list[dict[str, Any]]:
    translator = AnthropicToResponsesStream(request=request(stream=True), response_id="resp_1", created_at=0)
    return [e for event in anthropic_tool_stream(name, pieces) for e in translator.feed(event)] + translator.finish()


@given(st.integers(1, 40))
def test_a_streamed_custom_call_arrives_whole_however_its_json_was_cut(size: int) -> None:
    whole = orjson.dumps({"input": PATCH_TEXT}).decode()
    events = stream_through_anthropic("apply_patch", [whole[i : i + size] for i in range(0, len(whole), size)])
    for event in events:
        responses_sdk.event(event)
    kinds = [event["type"] for event in events]
    assert kinds.count("response.custom_tool_call_input.delta") == 1
    assert "response.function_call_arguments.delta" not in kinds
    (call,) = responses_sdk.final_response(events).output
    assert call.type == "custom_tool_call" and call.input == PATCH_TEXT


def test_a_streamed_namespaced_call_through_anthropic_comes_back_split() -> None:
    events = stream_through_anthropic("multi_agent_v1__close_agent", ['{"target"', ': "a"}'])
    (call,) = responses_sdk.final_response(events).output
    assert call.type == "function_call" and (call.namespace, call.name) == ("multi_agent_v1", "close_agent")
    assert orjson.loads(call.arguments) == {"target": "a"}


def test_the_name_maps_cover_namespaced_custom_tools() -> None:
    namespaced_patch = {"type": "namespace", "name": "edit", "tools": [PATCH]}
    body = request(tools=[namespaced_patch])
    assert tool_namespaces.names(body) == {"edit__apply_patch": ("edit", "apply_patch")}
    assert tool_namespaces.custom_names(body) == {"edit__apply_patch"}
