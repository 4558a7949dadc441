from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import anthropic_messages, openai_to_anthropic, tool_ids
from gateway.providers.wire.errors import Untranslatable
from tests.unit.gateway.providers.wire import payloads


def translate(**changes: Any) -> dict[str, Any]:
    body = payloads.openai_tool_request()
    body.update(changes)
    out = openai_to_anthropic.request(body)
    anthropic_messages.validate_request(out)  # every translation is a request Anthropic's rules accept
    return out


def test_the_system_prompt_moves_to_the_top_level_field() -> None:
    out = translate()
    assert out["system"] == "You are a weather assistant."
    assert all(m["role"] in ("user", "assistant") for m in out["messages"])


def test_several_system_and_developer_messages_become_system_blocks_in_order() -> None:
    body = payloads.openai_tool_request()
    body["messages"].insert(2, {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]})
    out = openai_to_anthropic.request(body)
    assert out["system"] == [
        {"type": "text", "text": "You are a weather assistant."},
        {"type": "text", "text": "Use metric units."},
    ]


def test_images_become_base64_and_url_sources() -> None:
    user = translate()["messages"][0]["content"]
    assert user[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": payloads.PNG_B64},
    }
    assert user[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


def test_tool_calls_become_tool_use_blocks_with_parsed_input() -> None:
    assistant = translate()["messages"][1]
    assert assistant["content"] == [
        {"type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_def456", "name": "get_weather", "input": {"city": "Tokyo"}},
    ]


def test_consecutive_tool_messages_merge_into_one_user_turn() -> None:
    out = translate()
    assert out["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_abc123", "content": "18C, cloudy"},
            {"type": "tool_result", "tool_use_id": "call_def456", "content": "24C, sunny"},
        ],
    }
    assert out["messages"][3] == {"role": "user", "content": "Thanks! Which one is warmer?"}


def test_parameters_map_and_openai_only_ones_are_dropped() -> None:
    out = translate()
    assert out["max_tokens"] == 512
    assert out["temperature"] == 0.7 and out["top_p"] == 0.9
    assert out["stop_sequences"] == ["\n\nHuman:"]
    assert out["metadata"] == {"user_id": "user-1234"}
    assert out["tools"][0]["input_schema"]["required"] == ["city"]
    for dropped in ("seed", "presence_penalty", "logprobs", "user", "stop", "tool_calls"):
        assert dropped not in out


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, openai_to_anthropic.DEFAULT_MAX_TOKENS),
        ({"max_tokens": 100}, 100),
        ({"max_completion_tokens": 200, "max_tokens": 100}, 200),
    ],
)
def test_max_tokens_is_always_set(fields: dict[str, Any], expected: int) -> None:
    body = payloads.openai_tool_request()
    del body["max_tokens"]
    assert openai_to_anthropic.request(body | fields)["max_tokens"] == expected


def test_a_caller_default_max_tokens_is_used_when_the_client_set_none() -> None:
    body = payloads.openai_tool_request()
    del body["max_tokens"]
    assert openai_to_anthropic.request(body, default_max_tokens=8192, model="claude-x")["max_tokens"] == 8192


def test_temperature_is_clamped_to_anthropics_range() -> None:
    assert translate(temperature=1.8)["temperature"] == 1.0


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice_maps(choice: Any, parallel: bool | None, expected: dict[str, Any]) -> None:
    assert translate(tool_choice=choice, parallel_tool_calls=parallel)["tool_choice"] == expected


def test_json_mode_becomes_a_system_instruction() -> None:
    schema = {"type": "object", "properties": {"warmer": {"type": "string"}}}
    out = translate(response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}})
    assert out["system"][0]["text"] == "You are a weather assistant."
    instruction = out["system"][1]["text"]
    assert "JSON" in instruction and orjson.dumps(schema).decode() in instruction


def test_unparseable_arguments_are_kept_inside_an_object() -> None:
    body = payloads.openai_tool_request()
    body["messages"][2]["tool_calls"][0]["function"]["arguments"] = '{"city": "Par'
    tool_use = openai_to_anthropic.request(body)["messages"][1]["content"][0]
    assert tool_use["input"] == {"_unparsed_arguments": '{"city": "Par'}


def test_ids_anthropic_refuses_are_encoded_consistently_in_calls_and_results() -> None:
    body = payloads.openai_tool_request()
    body["messages"][2]["tool_calls"][0]["id"] = "functions.get_weather:0"
    body["messages"][3]["tool_call_id"] = "functions.get_weather:0"
    out = translate(messages=body["messages"])
    use_id = out["messages"][1]["content"][0]["id"]
    assert out["messages"][2]["content"][0]["tool_use_id"] == use_id
    assert tool_ids.from_anthropic(use_id) == "functions.get_weather:0"


def test_a_final_assistant_prefill_loses_its_trailing_whitespace() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "Sure: "}],
    }
    assert openai_to_anthropic.request(body)["messages"][-1] == {"role": "assistant", "content": "Sure:"}


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
            "messages[1].content[1].type",
        ),
        (
            {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}},
            "messages[1].content[1].image_url.url",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}},
            "messages[1].content[1].image_url.url",
        ),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "messages[1].content[1].file"),
    ],
)
def test_content_without_an_anthropic_equivalent_is_refused_naming_it(part: dict[str, Any], param: str) -> None:
    body = payloads.openai_tool_request()
    body["messages"][1]["content"][1] = part
    with pytest.raises(Untranslatable) as caught:
        openai_to_anthropic.request(body)
    assert caught.value.param == param


def test_inline_pdf_files_become_documents() -> None:
    body = payloads.openai_tool_request()
    pdf = {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}
    body["messages"][1]["content"][1] = pdf
    block = openai_to_anthropic.request(body)["messages"][0]["content"][1]
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        "title": "a.pdf",
    }


def test_custom_tools_and_legacy_functions_are_refused() -> None:
    with pytest.raises(Untranslatable) as caught:
        translate(tools=[{"type": "custom", "custom": {"name": "grammar"}}], tool_choice=None)
    assert caught.value.param == "tools[0].type"
    with pytest.raises(Untranslatable) as caught:
        translate(functions=[{"name": "f"}])
    assert caught.value.param == "functions"


def test_a_completion_becomes_a_message() -> None:
    message = openai_to_anthropic.response(payloads.openai_completion(), model="my-alias")
    assert message == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "type": "message",
        "role": "assistant",
        "model": "my-alias",
        "content": [
            {"type": "text", "text": "Checking the weather."},
            {"type": "tool_use", "id": "call_12345xyz", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 18,
            "output_tokens": 17,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 64,
        },
    }


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons_map_to_stop_reasons(finish: str | None, stop: str) -> None:
    body = payloads.openai_completion()
    body["choices"][0]["finish_reason"] = finish
    assert openai_to_anthropic.response(body)["stop_reason"] == stop


def test_a_refusal_becomes_text_with_the_refusal_stop_reason() -> None:
    body = payloads.openai_completion()
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "refusal": "I can't help with that.",
    }
    message = openai_to_anthropic.response(body)
    assert message["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert message["stop_reason"] == "refusal"


@pytest.mark.parametrize(
    ("status", "body", "expected_type", "message"),
    [
        (
            429,
            b'{"error":{"message":"Rate limit reached for gpt-4o","type":"requests",'
            b'"param":null,"code":"rate_limit_exceeded"}}',
            "rate_limit_error",
            "Rate limit reached for gpt-4o",
        ),
        (
            401,
            b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}',
            "authentication_error",
            "Incorrect API key provided",
        ),
        (400, b'{"error":"model is required"}', "invalid_request_error", "model is required"),
        (502, b"<html>Bad Gateway</html>", "api_error", "the upstream's error body is not JSON (24 bytes, not shown)"),
        (503, b"", "overloaded_error", "the upstream returned an empty error body"),
        (413, b'{"error":{"message":"too big"}}', "request_too_large", "too big"),
    ],
)
def test_openai_errors_are_shown_in_anthropics_shape(
    status: int, body: bytes, expected_type: str, message: str
) -> None:
    reply = openai_to_anthropic.error(status, body)
    assert reply.status == status
    assert reply.body == {"type": "error", "error": {"type": expected_type, "message": message}}
