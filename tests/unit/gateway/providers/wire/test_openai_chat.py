from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.providers.wire import openai_chat
from gateway.providers.wire.errors import WireError
from tests.unit.gateway.providers.wire import payloads


def with_changes(**changes: Any) -> dict[str, Any]:
    body = payloads.openai_tool_request()
    body.update(changes)
    return body


def messages(*items: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": list(items)}


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("model missing", {"messages": [{"role": "user", "content": "hi"}]}, "model"),
    ("model not a string", {"model": 4, "messages": [{"role": "user", "content": "hi"}]}, "model"),
    ("messages missing", {"model": "m"}, "messages"),
    ("messages empty", {"model": "m", "messages": []}, "messages"),
    ("messages not an array", {"model": "m", "messages": "hi"}, "messages"),
    ("message not an object", messages("hi"), "messages[0]"),
    ("unknown role", messages({"role": "robot", "content": "x"}), "messages[0].role"),
    ("function role", messages({"role": "function", "name": "f", "content": "x"}), "messages[0].role"),
    ("user content missing", messages({"role": "user"}), "messages[0].content"),
    ("user content a number", messages({"role": "user", "content": 3}), "messages[0].content"),
    ("user content empty array", messages({"role": "user", "content": []}), "messages[0].content"),
    (
        "unknown part type",
        messages({"role": "user", "content": [{"type": "video", "video": {}}]}),
        "messages[0].content[0].type",
    ),
    (
        "text part without text",
        messages({"role": "user", "content": [{"type": "text"}]}),
        "messages[0].content[0].text",
    ),
    (
        "image without url",
        messages({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}),
        "messages[0].content[0].image_url.url",
    ),
    (
        "bad image detail",
        messages(
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x", "detail": "max"}}],
            }
        ),
        "messages[0].content[0].image_url.detail",
    ),
    (
        "system with an image part",
        messages({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}),
        "messages[0].content[0].type",
    ),
    (
        "assistant with nothing",
        messages({"role": "user", "content": "a"}, {"role": "assistant"}),
        "messages[1].content",
    ),
    (
        "tool call without arguments",
        messages(
            {"role": "user", "content": "a"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}]},
        ),
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "tool message answering nothing",
        messages({"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "call_9", "content": "x"}),
        "messages[1].tool_call_id",
    ),
    (
        "tool call left unanswered",
        messages(
            {"role": "user", "content": "a"},
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "user", "content": "b"},
        ),
        "messages[1]",
    ),
    ("negative max_tokens", with_changes(max_tokens=-1), "max_tokens"),
    ("zero max_completion_tokens", with_changes(max_completion_tokens=0), "max_completion_tokens"),
    ("boolean max_tokens", with_changes(max_tokens=True), "max_tokens"),
    ("n above one", with_changes(n=2), "n"),
    ("temperature too high", with_changes(temperature=2.5), "temperature"),
    ("top_p as text", with_changes(top_p="0.9"), "top_p"),
    ("penalty out of range", with_changes(frequency_penalty=-3), "frequency_penalty"),
    ("five stop sequences", with_changes(stop=["a", "b", "c", "d", "e"]), "stop"),
    ("stop sequence not a string", with_changes(stop=["a", 1]), "stop[1]"),
    ("stream as a string", with_changes(stream="yes"), "stream"),
    ("stream_options without stream", with_changes(stream_options={"include_usage": True}), "stream_options"),
    ("top_logprobs without logprobs", with_changes(top_logprobs=3), "top_logprobs"),
    ("bad tool type", with_changes(tools=[{"type": "retrieval"}]), "tools[0].type"),
    (
        "tool name with a space",
        with_changes(tools=[{"type": "function", "function": {"name": "get weather"}}]),
        "tools[0].function.name",
    ),
    (
        "tool parameters not an object",
        with_changes(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
        "tools[0].function.parameters",
    ),
    ("unknown tool_choice", with_changes(tool_choice="any"), "tool_choice"),
    (
        "tool_choice naming a missing tool",
        with_changes(tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice.function.name",
    ),
    ("tool_choice without tools", with_changes(tools=None, tool_choice="auto"), "tool_choice"),
    ("bad response_format", with_changes(response_format={"type": "xml"}), "response_format.type"),
    (
        "json_schema without a name",
        with_changes(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
        "response_format.json_schema.name",
    ),
    ("user not a string", with_changes(user=12), "user"),
]


@pytest.mark.parametrize(("body", "param"), [(b, p) for _, b, p in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_requests_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(WireError) as caught:
        openai_chat.parse_request(orjson.dumps(body))
    assert caught.value.param == param


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_refused_as_a_whole(raw: bytes) -> None:
    with pytest.raises(WireError) as caught:
        openai_chat.parse_request(raw)
    assert caught.value.param == ""


def test_a_realistic_request_passes_and_keeps_every_field() -> None:
    body = with_changes(response_format={"type": "json_object"}, logit_bias={"50256": -100}, store=False)
    parsed = openai_chat.parse_request(orjson.dumps(body))
    assert parsed == body


def test_developer_messages_and_refusal_parts_are_accepted() -> None:
    body = messages(
        {"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
    )
    openai_chat.validate_request(body)


def test_prepare_upstream_sets_the_model_and_forces_usage_on_streams() -> None:
    body = with_changes(stream=True, stream_options={"include_usage": False, "other": 1})
    sent = orjson.loads(openai_chat.prepare_upstream(body, "gpt-4o-2024-08-06"))
    assert sent["model"] == "gpt-4o-2024-08-06"
    assert sent["stream_options"] == {"include_usage": True, "other": 1}
    assert sent["seed"] == 42 and sent["presence_penalty"] == 0.5
    assert body["model"] == "gpt-4o"  # the client's body is left as it was


def test_prepare_upstream_adds_no_stream_options_to_a_plain_request() -> None:
    sent = orjson.loads(openai_chat.prepare_upstream(payloads.openai_tool_request(), "m"))
    assert "stream_options" not in sent


def test_only_clients_that_asked_for_usage_want_the_usage_chunk() -> None:
    assert openai_chat.wants_usage(with_changes(stream=True, stream_options={"include_usage": True}))
    assert not openai_chat.wants_usage(with_changes(stream=True))
    usage_chunk = payloads.openai_stream()[-1]
    assert openai_chat.is_usage_chunk(usage_chunk)
    assert not any(openai_chat.is_usage_chunk(c) for c in payloads.openai_stream()[:-1])
