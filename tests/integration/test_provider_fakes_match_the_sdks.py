"""The fake upstreams are read correctly by the official openai and anthropic SDKs, errors included.

If a real client parses the fakes' replies, streams and error bodies, tests built on the fakes exercise the
formats the gateway meets in production.
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.fakes import faults, fixtures, replies, upstreams
from tests.fakes.fixtures import ANTHROPIC_KEY, OPENAI_KEY

openai_upstream = fixtures.openai_upstream  # until the top-level conftest registers tests.fakes.fixtures
anthropic_upstream = fixtures.anthropic_upstream

TOOLS: list[openai.types.chat.ChatCompletionToolParam] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]


def openai_client(fake: upstreams.FakeUpstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.url, api_key=OPENAI_KEY, max_retries=0)


def anthropic_client(fake: upstreams.FakeUpstream) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=fake.url.removesuffix("/v1"), api_key=ANTHROPIC_KEY, max_retries=0)


async def test_the_openai_sdk_reads_a_completion_and_its_usage(openai_upstream: upstreams.OpenAIUpstream) -> None:
    async with openai_client(openai_upstream) as client:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "be kind"}, {"role": "user", "content": "one two three"}],
            max_tokens=3,
        )
    assert completion.choices[0].message.content == "echo: one two"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 3)


async def test_the_openai_sdk_reads_a_streamed_tool_call_and_the_usage_chunk(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    openai_upstream.script(faults.tool_call("get_weather", '{"city": "Paris"}'))
    arguments, usage = "", None
    async with openai_client(openai_upstream) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "weather?"}],
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                for call in choice.delta.tool_calls or []:
                    arguments += call.function.arguments or "" if call.function else ""
    assert arguments == '{"city": "Paris"}'
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (1, replies.tool_call_tokens("get_weather", arguments))


async def test_the_openai_sdk_decodes_base64_embeddings(openai_upstream: upstreams.OpenAIUpstream) -> None:
    async with openai_client(openai_upstream) as client:
        result = await client.embeddings.create(model="text-embedding-3-small", input=["hello world"])
    assert result.data[0].embedding == pytest.approx(replies.embedding("hello world"), abs=1e-6)
    assert result.usage.prompt_tokens == 2


async def test_the_openai_sdk_sees_a_rate_limit_with_its_retry_after(openai_upstream: upstreams.OpenAIUpstream) -> None:
    openai_upstream.script(faults.rate_limited(retry_after=3))
    async with openai_client(openai_upstream) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "3"


async def test_the_anthropic_sdk_assembles_a_streamed_message(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    async with (
        anthropic_client(anthropic_upstream) as client,
        client.messages.stream(
            model="claude-fake-large", max_tokens=50, messages=[{"role": "user", "content": "how are you"}]
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["text"]
    assert final.content[0].type == "text"
    assert final.content[0].text == "echo: how are you"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)
    assert final.stop_reason == "end_turn"


async def test_the_anthropic_sdk_assembles_a_streamed_tool_use(
    anthropic_upstream: upstreams.AnthropicUpstream,
) -> None:
    anthropic_upstream.script(faults.tool_call("lookup", '{"query": "weather in Paris", "days": 3}'))
    async with (
        anthropic_client(anthropic_upstream) as client,
        client.messages.stream(
            model="claude-fake-large", max_tokens=50, messages=[{"role": "user", "content": "weather?"}]
        ) as stream,
    ):
        final = await stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("lookup", {"query": "weather in Paris", "days": 3})
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        (faults.overloaded(), 529, "overloaded_error"),
        (faults.context_overflow(), 400, "invalid_request_error"),
        (faults.rate_limited(retry_after=1), 429, "rate_limit_error"),
    ],
)
async def test_the_anthropic_sdk_reads_anthropic_error_bodies(
    anthropic_upstream: upstreams.AnthropicUpstream, fault: faults.Fault, status: int, error_type: str
) -> None:
    anthropic_upstream.script(fault)
    async with anthropic_client(anthropic_upstream) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(
                model="claude-fake-large", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == error_type


async def test_the_openai_sdk_reads_the_fakes_responses_api_whole_streamed_and_continued(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    async with openai_client(openai_upstream) as client:
        first = await client.responses.create(model="gpt-4o-mini", input="one two three", instructions="be kind")
        assert first.output_text == "echo: one two three"
        assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (5, 4)
        async with client.responses.stream(model="gpt-4o-mini", input="four", previous_response_id=first.id) as s:
            second = await s.get_final_response()
        assert second.output_text == "echo: four" and second.previous_response_id == first.id
        assert second.usage is not None and second.usage.input_tokens == 3 + 4 + 1  # the stored turn, then "four"
        with pytest.raises(openai.NotFoundError):
            await client.responses.create(model="gpt-4o-mini", input="x", previous_response_id="resp_unknown")


async def test_the_openai_sdk_reads_the_fakes_responses_stream_error(
    openai_upstream: upstreams.OpenAIUpstream,
) -> None:
    openai_upstream.script(faults.error_event_after(3))
    async with openai_client(openai_upstream) as client:
        stream = await client.responses.create(model="gpt-4o-mini", input="x", stream=True)
        kinds = [event.type async for event in stream]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-2:] == ["error", "response.failed"]
