"""What the translators produce is parsed by the official ``openai`` and ``anthropic`` SDKs.

Each chunk, event and body is validated against the SDK's own types; then the SDK clients themselves read the
translated streams through an in-memory ``MockTransport`` (no network) and assemble the final answer.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pydantic
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway.providers.wire import anthropic_to_openai, openai_to_anthropic, sse
from gateway.providers.wire.anthropic_to_openai_stream import AnthropicToOpenAIStream
from gateway.providers.wire.openai_to_anthropic_stream import OpenAIToAnthropicStream
from tests.unit.gateway.providers.wire import payloads

EVENTS = pydantic.TypeAdapter(RawMessageStreamEvent)


def openai_chunks() -> list[dict[str, Any]]:
    translator = AnthropicToOpenAIStream(created=1_700_000_000, model="claude-alias")
    chunks = [c for event in payloads.anthropic_stream() for c in translator.feed(event)]
    return chunks + translator.finish()


def anthropic_events(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    translator = OpenAIToAnthropicStream(model="gpt-alias", input_tokens=100)
    events = [e for chunk in chunks for e in translator.feed(chunk)]
    return events + translator.finish()


def serving(body: bytes) -> httpx2.Client:
    """An HTTP client whose every response is ``body`` as an event stream (both SDKs run on httpx2)."""

    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return httpx2.Client(transport=httpx2.MockTransport(respond))


def test_every_translated_chunk_is_a_valid_openai_chunk() -> None:
    for chunk in openai_chunks():
        ChatCompletionChunk.model_validate(chunk)


def test_a_translated_completion_is_a_valid_openai_completion() -> None:
    completion = ChatCompletion.model_validate(
        anthropic_to_openai.response(payloads.anthropic_message(), created=1_700_000_000)
    )
    assert completion.choices[0].message.tool_calls is not None
    assert completion.usage is not None and completion.usage.prompt_tokens == 582


def test_the_openai_sdk_assembles_the_translated_stream() -> None:
    body = b"".join(sse.encode_openai(c) for c in openai_chunks()) + sse.OPENAI_DONE
    with serving(body) as http:
        client = openai.OpenAI(api_key="test", base_url="http://gateway.test/v1", http_client=http)
        with client.chat.completions.stream(
            model="claude-alias", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Okay, let me check both."
    assert message.tool_calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", '{"city": "Paris"}'),
        ("toolu_01ABCdef234GHIjkl567MNOp", "get_time", '{"tz": "Asia/Tokyo"}'),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.completion_tokens == 89


def test_every_translated_event_is_a_valid_anthropic_event() -> None:
    for event in anthropic_events(payloads.openai_stream()):
        EVENTS.validate_python(event)


def test_a_translated_message_is_a_valid_anthropic_message() -> None:
    message = Message.model_validate(openai_to_anthropic.response(payloads.openai_completion()))
    assert message.stop_reason == "tool_use"


def test_the_anthropic_sdk_assembles_the_translated_stream() -> None:
    body = b"".join(sse.encode_anthropic(e) for e in anthropic_events(payloads.openai_stream()))
    with serving(body) as http:
        client = anthropic.Anthropic(api_key="test", base_url="http://gateway.test", http_client=http)
        with client.messages.stream(
            model="gpt-alias", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = stream.get_final_message()
    assert [block.type for block in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[0].type == "text" and final.content[0].text == "Let me check."
    uses = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    assert uses == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", {"city": "Paris"}),
        ("call_ABC", "get_time", {"tz": "Asia/Tokyo"}),
    ]
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (120, 40)


def test_a_round_trip_through_both_stream_translators_still_parses_in_the_anthropic_sdk() -> None:
    """Anthropic events -> OpenAI chunks -> Anthropic events: the same text and tool calls come out."""
    events = anthropic_events(openai_chunks())
    for event in events:
        EVENTS.validate_python(event)
    body = b"".join(sse.encode_anthropic(e) for e in events)
    with serving(body) as http:
        client = anthropic.Anthropic(api_key="test", base_url="http://gateway.test", http_client=http)
        with client.messages.stream(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}]) as stream:
            final = stream.get_final_message()
    assert [b.input for b in final.content if b.type == "tool_use"] == [
        {"city": "Paris"},
        {"tz": "Asia/Tokyo"},
    ]
