from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers.wire import openai_chat, openai_responses, responses_to_chat
from gateway.providers.wire.errors import Untranslatable
from tests.unit.gateway.providers.wire import payloads, responses_payloads


def test_an_agents_turn_becomes_one_chat_conversation_in_order() -> None:
    chat = responses_to_chat.request(responses_payloads.agent_request(), model="qwen3-32b")
    # openai_chat's validator knows no custom tool calls in the history (OpenAI does): check the rest with it
    openai_chat.validate_request(chat | {"messages": chat["messages"][:5]})
    assert chat["messages"] == [
        {"role": "system", "content": "You are a coding agent running in a terminal."},
        {"role": "system", "content": "<permissions>workspace-write</permissions>"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "List the files, then describe this screenshot."},
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{payloads.PNG_B64}", "detail": "auto"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": "I'll list the files.",
            "tool_calls": [
                {
                    "id": "call_Xy12",
                    "type": "function",
                    "function": {"name": "shell", "arguments": '{"command":["ls","-la"]}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_Xy12", "content": "README.md\nsrc\n"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_Pa7",
                    "type": "custom",
                    "custom": {"name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_Pa7", "content": [{"type": "text", "text": "Done!"}]},
    ]
    assert chat["model"] == "qwen3-32b"
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "shell",
                "description": "Runs a shell command and returns its output.",
                "parameters": responses_payloads.shell_tool()["parameters"],
                "strict": False,
            },
        },
        {
            "type": "custom",
            "custom": {
                "name": "apply_patch",
                "description": "Apply a patch to files.",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
            },
        },
    ]
    assert (chat["tool_choice"], chat["parallel_tool_calls"]) == ("auto", True)
    assert (chat["reasoning_effort"], chat["verbosity"], chat["max_tokens"]) == ("medium", "low", 4096)
    assert (chat["stream"], chat["stream_options"]) == (True, {"include_usage": True})
    # Responses-only settings stay with the gateway: storage, metadata, includes, the cache key
    assert not {"store", "metadata", "include", "prompt_cache_key", "instructions", "input"} & chat.keys()


def test_a_json_schema_format_becomes_response_format_and_sampling_is_kept() -> None:
    chat = responses_to_chat.request(responses_payloads.structured_request(), max_tokens_field="max_completion_tokens")
    openai_chat.validate_request(chat)
    fmt = responses_payloads.structured_request()["text"]["format"]
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "calendar_event", "schema": fmt["schema"], "strict": True},
    }
    assert chat["messages"] == [{"role": "user", "content": "Extract the event: Alice and Bob meet on Friday."}]
    assert (chat["temperature"], chat["top_p"], chat["user"]) == (0.2, 0.9, "user-1234")
    assert "stream" not in chat and "max_completion_tokens" not in chat

    request = responses_payloads.structured_request() | {"text": {"format": {"type": "json_object"}}}
    assert responses_to_chat.request(request)["response_format"] == {"type": "json_object"}
    request["text"] = {"format": {"type": "text"}}
    assert "response_format" not in responses_to_chat.request(request)


def test_allowed_tools_sends_only_those_tools_with_the_mode_as_tool_choice() -> None:
    request = responses_payloads.agent_request()
    request["tool_choice"] = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "custom", "name": "apply_patch"}],
    }
    chat = responses_to_chat.request(request)
    assert [t["custom"]["name"] for t in chat["tools"]] == ["apply_patch"]
    assert chat["tool_choice"] == "required"


def test_a_forced_function_becomes_chats_named_tool_choice() -> None:
    request = responses_payloads.agent_request() | {"tool_choice": {"type": "function", "name": "shell"}}
    assert responses_to_chat.request(request)["tool_choice"] == {"type": "function", "function": {"name": "shell"}}


def test_reasoning_items_with_encrypted_content_are_dropped_and_nothing_else() -> None:
    request = responses_payloads.agent_request()
    without = responses_payloads.agent_request()
    without["input"] = [item for item in without["input"] if item.get("type") != "reasoning"]
    assert responses_to_chat.request(request) == responses_to_chat.request(without)


REFUSED = [
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tool_choice": {"type": "code_interpreter"}}, "tool_choice.type"),
    (
        {"tools": [{"type": "namespace", "name": "n" * 40, "tools": [{"type": "function", "name": "f" * 30}]}]},
        "tools[0].tools[0].name",
    ),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"input": [{"type": "local_shell_call_output", "id": "x", "output": "ok"}]}, "input[0].type"),
    (
        {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
        "input[0].content[0].file_id",
    ),
    (
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x.test/a.pdf"}]}]},
        "input[0].content[0].file_url",
    ),
    (
        {"input": [{"role": "system", "content": [{"type": "input_image", "image_url": "https://x.test/a.png"}]}]},
        "input[0].content[0].type",
    ),
    (
        {
            "input": [
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "u"}]},
            ]
        },
        "input[1].output[0].type",
    ),
    ({"previous_response_id": "resp_1"}, "previous_response_id"),
    ({"background": True}, "background"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"top_logprobs": 5}, "top_logprobs"),
    ({"include": ["message.output_text.logprobs"]}, "top_logprobs"),
    ({"input": []}, "input"),
]


@pytest.mark.parametrize(("fields", "param"), REFUSED)
def test_what_chat_completions_cannot_express_is_refused_naming_it(fields: dict[str, Any], param: str) -> None:
    request = {"model": "m", "input": "hi"} | fields
    openai_responses.validate_request(request)
    with pytest.raises(Untranslatable) as caught:
        responses_to_chat.request(request)
    assert caught.value.param == param


texts = st.text(min_size=1, max_size=20)
names = st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True)


@st.composite
def agent_turns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Input items as agents build them: messages, reasoning, calls (some parallel) and their outputs."""
    items: list[dict[str, Any]] = []
    n = 0
    for _ in range(draw(st.integers(1, 4))):
        role = draw(st.sampled_from(["user", "developer", "system"]))
        content = draw(texts | st.lists(texts.map(lambda t: {"type": "input_text", "text": t}), min_size=1, max_size=2))
        items.append({"type": "message", "role": role, "content": content})
        if draw(st.booleans()):
            items.append({"type": "reasoning", "id": f"rs_{n}", "summary": [], "encrypted_content": draw(texts)})
        if draw(st.booleans()):
            items.append({"role": "assistant", "content": [{"type": "output_text", "text": draw(texts)}]})
        calls = []
        for _ in range(draw(st.integers(0, 3))):
            n += 1
            calls.append({"type": "function_call", "call_id": f"call_{n}", "name": draw(names), "arguments": "{}"})
        items.extend(calls)
        outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": draw(texts)} for c in calls]
        items.extend(draw(st.permutations(outputs)))
    return items


@settings(max_examples=150)
@given(agent_turns())
def test_any_agent_conversation_becomes_a_valid_chat_request_keeping_every_text_and_call(
    items: list[dict[str, Any]],
) -> None:
    request = {"model": "m", "input": items}
    openai_responses.validate_request(request)
    chat = responses_to_chat.request(request)
    openai_chat.validate_request(chat)

    def item_texts(item: dict[str, Any]) -> str:
        content = item.get("content", item.get("output", ""))
        return content if isinstance(content, str) else "".join(p["text"] for p in content)

    def message_texts(message: dict[str, Any]) -> str:
        content = message.get("content") or ""
        return content if isinstance(content, str) else "".join(p["text"] for p in content)

    kept = [item for item in items if item.get("type") != "reasoning"]
    assert [item_texts(i) for i in kept if item_texts(i)] == [
        message_texts(m) for m in chat["messages"] if message_texts(m)
    ]
    calls = [c["id"] for m in chat["messages"] for c in m.get("tool_calls", ())]
    assert calls == [i["call_id"] for i in items if i.get("type") == "function_call"]


def test_custom_tools_go_as_function_tools_to_a_server_without_them() -> None:
    request = responses_payloads.agent_request() | {"tool_choice": {"type": "custom", "name": "apply_patch"}}
    chat = responses_to_chat.request(request, custom_tools=False)
    openai_chat.validate_request(chat)  # now plain Chat Completions, which a vLLM server takes
    [patch_tool] = [t for t in chat["tools"] if t["function"]["name"] == "apply_patch"]
    assert patch_tool["type"] == "function"
    schema = patch_tool["function"]["parameters"]
    assert schema["required"] == ["input"] and "start: /.+/" in schema["properties"]["input"]["description"]
    [replayed] = [m for m in chat["messages"] if m.get("tool_calls") and m["tool_calls"][0]["id"] == "call_Pa7"]
    assert replayed["tool_calls"][0]["function"] == {
        "name": "apply_patch",
        "arguments": '{"input":"*** Begin Patch\\n*** End Patch\\n"}',
    }
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "apply_patch"}}
