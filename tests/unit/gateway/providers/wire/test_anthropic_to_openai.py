from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import anthropic_to_openai, openai_chat, tool_ids
from gateway.providers.wire.errors import Untranslatable
from tests.unit.gateway.providers.wire import payloads


def translate(**changes: Any) -> dict[str, Any]:
    body = payloads.anthropic_tool_request()
    body.update(changes)
    out = anthropic_to_openai.request(body)
    openai_chat.validate_request(out)  # every translation is a request OpenAI's rules accept
    return out


def test_the_conversation_becomes_openai_messages() -> None:
    out = translate()
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "tool", "tool", "user"]
    assert out["messages"][0] == {"role": "system", "content": "You are a weather assistant."}
    assert out["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{payloads.PNG_B64}"},
    }


def test_tool_use_blocks_become_tool_calls_with_json_arguments() -> None:
    assistant = translate()["messages"][2]
    assert assistant["content"] == "I'll check both cities."
    assert [orjson.loads(c["function"]["arguments"]) for c in assistant["tool_calls"]] == [
        {"city": "Paris"},
        {"city": "Tokyo"},
    ]
    assert assistant["tool_calls"][0]["id"] == "toolu_01A09q90qw90lq917835lq9"


def test_tool_results_become_tool_messages_before_the_rest_of_the_turn() -> None:
    out = translate()
    assert out["messages"][3] == {
        "role": "tool",
        "tool_call_id": "toolu_01A09q90qw90lq917835lq9",
        "content": "18C, cloudy",
    }
    assert out["messages"][4]["content"] == [{"type": "text", "text": "24C, sunny"}]
    assert out["messages"][5] == {
        "role": "user",
        "content": [{"type": "text", "text": "Which one is warmer?"}],
    }


def test_parameters_map_and_anthropic_only_ones_are_dropped() -> None:
    out = translate(thinking={"type": "enabled", "budget_tokens": 2048}, service_tier="auto")
    assert out["max_tokens"] == 1024
    assert out["temperature"] == 0.5
    assert out["stop"] == ["END"]
    assert out["user"] == "user-1234"
    assert out["tool_choice"] == "auto"
    assert out["tools"][0]["function"]["parameters"]["required"] == ["city"]
    for dropped in ("top_k", "thinking", "service_tier", "metadata", "stop_sequences", "system", "stream"):
        assert dropped not in out


def test_the_max_tokens_field_can_be_the_one_reasoning_models_read() -> None:
    out = anthropic_to_openai.request(payloads.anthropic_tool_request(), max_tokens_field="max_completion_tokens")
    assert out["max_completion_tokens"] == 1024 and "max_tokens" not in out


def test_a_streamed_request_asks_for_usage() -> None:
    out = translate(stream=True)
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "none"}, "none", None),
        ({"type": "any"}, "required", None),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
            None,
        ),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
    ],
)
def test_tool_choice_maps(choice: dict[str, Any], expected: Any, parallel: bool | None) -> None:
    out = translate(tool_choice=choice)
    assert out["tool_choice"] == expected
    assert out.get("parallel_tool_calls") == parallel


def test_system_blocks_become_one_system_message_each_and_thinking_is_dropped() -> None:
    body = payloads.anthropic_tool_request()
    body["system"] = [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    body["messages"][1]["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "sig"})
    out = anthropic_to_openai.request(body)
    assert out["messages"][:2] == [{"role": "system", "content": "one"}, {"role": "system", "content": "two"}]
    assert out["messages"][3]["content"] == "I'll check both cities."


def test_encoded_tool_ids_are_decoded_for_openai() -> None:
    body = payloads.anthropic_tool_request()
    encoded = tool_ids.to_anthropic("functions.get_weather:0")
    body["messages"][1]["content"][1]["id"] = encoded
    body["messages"][2]["content"][0]["tool_use_id"] = encoded
    out = translate(messages=body["messages"])
    assert out["messages"][2]["tool_calls"][0]["id"] == "functions.get_weather:0"
    assert out["messages"][3]["tool_call_id"] == "functions.get_weather:0"


def test_server_tools_and_images_in_tool_results_are_refused_naming_them() -> None:
    with pytest.raises(Untranslatable) as caught:
        translate(tools=[{"type": "web_search_20250305", "name": "web_search"}], tool_choice=None)
    assert caught.value.param == "tools[0].type"
    body = payloads.anthropic_tool_request()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}
    body["messages"][2]["content"][1]["content"] = [image]
    with pytest.raises(Untranslatable) as caught:
        anthropic_to_openai.request(body)
    assert caught.value.param == "messages[2].content[1].content[0].type"


def test_a_message_becomes_a_chat_completion() -> None:
    completion = anthropic_to_openai.response(payloads.anthropic_message(), created=1_700_000_000)
    assert completion == {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "claude-sonnet-4-5-20250929",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me look up both cities.",
                    "tool_calls": [
                        {
                            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 582,
            "completion_tokens": 91,
            "total_tokens": 673,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 10},
        },
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop: str, finish: str) -> None:
    body = payloads.anthropic_message() | {"stop_reason": stop}
    assert anthropic_to_openai.response(body, created=0)["choices"][0]["finish_reason"] == finish


def test_a_message_with_no_text_has_null_content() -> None:
    body = payloads.anthropic_message()
    body["content"] = body["content"][1:]
    assert anthropic_to_openai.response(body, created=0)["choices"][0]["message"]["content"] is None


@pytest.mark.parametrize(
    ("status", "error_type", "shown", "openai_type"),
    [
        (400, "invalid_request_error", 400, "invalid_request_error"),
        (401, "authentication_error", 401, "authentication_error"),
        (403, "permission_error", 403, "permission_error"),
        (404, "not_found_error", 404, "not_found_error"),
        (413, "request_too_large", 413, "invalid_request_error"),
        (429, "rate_limit_error", 429, "rate_limit_error"),
        (500, "api_error", 500, "server_error"),
        (529, "overloaded_error", 503, "server_error"),
    ],
)
def test_anthropic_errors_are_shown_in_openais_shape(
    status: int, error_type: str, shown: int, openai_type: str
) -> None:
    body = orjson.dumps({"type": "error", "error": {"type": error_type, "message": "something went wrong"}})
    reply = anthropic_to_openai.error(status, body)
    assert reply.status == shown
    assert reply.body == {
        "error": {"message": "something went wrong", "type": openai_type, "param": None, "code": error_type}
    }


def test_thinking_in_a_message_is_kept_as_reasoning_content() -> None:
    body = payloads.anthropic_message()
    body["content"].insert(0, {"type": "thinking", "thinking": "Paris first.", "signature": "EqQB"})
    message = anthropic_to_openai.response(body, created=0)["choices"][0]["message"]
    assert message["reasoning_content"] == "Paris first."
    assert message["content"] == "Let me look up both cities."
