"""A stream that breaks after its first byte ends with an error the SDK raises, and is charged for what it made.

No failover is possible once bytes reached the client, so the gateway closes the client's stream with an error
event in the client's API shape and logs the request as failed (502, ``stream_broken``) with the usage known at
the break: the upstream's own counts where it sent them (Anthropic's input tokens arrive first), otherwise the
gateway's conservative token estimate (``gateway.tokens``), flagged as estimated. A client that hangs up is
logged as 499, also charged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest

from gateway import tokens
from tests.fakes import faults, replies
from tests.plugins.gateway import Gateway

PROMPT: list[Any] = [{"role": "user", "content": "one two three four five six"}]
PRICES = {"gpt": (Decimal("0.00015"), Decimal("0.0006")), "claude": (Decimal("0.003"), Decimal("0.015"))}
COLUMNS = "status, error_class, model, input_tokens, output_tokens, usage_estimated, cost_usd, stream"


def prompt_estimate() -> int:
    """Routing's estimate of PROMPT, charged when a stream breaks before the upstream counts it."""
    return tokens.estimate_input([message["content"] for message in PROMPT])


def cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    input_per_1k, output_per_1k = PRICES[model]
    return (input_per_1k * input_tokens + output_per_1k * output_tokens) / 1000


async def openai_stream_text(gateway: Gateway, model: str) -> tuple[str, openai.APIError | None]:
    text = ""
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
        stream = await sdk.chat.completions.create(model=model, messages=PROMPT, stream=True)
        try:
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
        except openai.APIError as exc:
            return text, exc
    return text, None


async def anthropic_stream_text(gateway: Gateway, model: str) -> tuple[str, anthropic.APIError | None]:
    text = ""
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0) as sdk:
        try:
            async with sdk.messages.stream(model=model, max_tokens=64, messages=PROMPT) as stream:
                async for piece in stream.text_stream:
                    text += piece
        except anthropic.APIError as exc:
            return text, exc
    return text, None


async def test_openai_stream_cut_midway_raises_in_the_sdk_and_charges_the_estimate(gateway: Gateway) -> None:
    gateway.openai.script(faults.cut_after(4))  # role chunk, "echo:", " one", " two"
    text, error = await openai_stream_text(gateway, "gpt")
    assert text == "echo: one two"
    assert isinstance(error, openai.APIError) and error.message.startswith("the upstream stream")
    (row,) = await gateway.log_rows(1, COLUMNS)
    expected_output = tokens.estimate_text(text)
    assert row[:6] == (502, "stream_broken", "gpt", prompt_estimate(), expected_output, True)
    assert row[6] == cost("gpt", prompt_estimate(), expected_output) and row[6] > 0
    assert row[7] is True


async def test_anthropic_stream_cut_midway_keeps_its_exact_input_count(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.cut_after(5))  # message_start, block start, ping, "echo:", " one"
    text, error = await anthropic_stream_text(gateway, "claude")
    assert text == "echo: one"
    assert isinstance(error, anthropic.APIStatusError)
    assert isinstance(error.body, dict) and error.body["error"]["type"] == "api_error"
    (row,) = await gateway.log_rows(1, COLUMNS)
    prompt = replies.prompt_tokens({"messages": PROMPT})
    expected_output = tokens.estimate_text(text)
    assert row[:6] == (502, "stream_broken", "claude", prompt, expected_output, True)
    assert row[6] == cost("claude", prompt, expected_output)


async def test_anthropic_stream_cut_reaches_an_openai_client_as_an_error(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.cut_after(6))  # ... "echo:", " one", " two"
    text, error = await openai_stream_text(gateway, "claude")
    assert text == "echo: one two" and error is not None
    (row,) = await gateway.log_rows(1, COLUMNS)
    prompt = replies.prompt_tokens({"messages": PROMPT})
    assert row[:4] == (502, "stream_broken", "claude", prompt)
    assert row[4] == tokens.estimate_text(text)
    assert row[6] == cost("claude", prompt, row[4])


async def test_openai_stream_cut_reaches_an_anthropic_client_as_an_error_event(gateway: Gateway) -> None:
    gateway.openai.script(faults.cut_after(3))  # role chunk, "echo:", " one"
    text, error = await anthropic_stream_text(gateway, "gpt")
    assert text == "echo: one" and isinstance(error, anthropic.APIStatusError)
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:5] == (502, "stream_broken", "gpt", prompt_estimate(), tokens.estimate_text(text))
    assert row[6] == cost("gpt", prompt_estimate(), row[4])


async def test_an_in_stream_upstream_error_event_is_passed_on_and_charged(gateway: Gateway) -> None:
    gateway.anthropic.script(faults.error_event_after(4))  # ... "echo:", then event: error (overloaded)
    text, error = await anthropic_stream_text(gateway, "claude")
    assert text == "echo:"
    assert isinstance(error, anthropic.APIStatusError) and "Overloaded" in str(error)
    (row,) = await gateway.log_rows(1, COLUMNS)
    prompt = replies.prompt_tokens({"messages": PROMPT})
    assert row[:4] == (502, "stream_broken", "claude", prompt)
    assert row[6] == cost("claude", prompt, row[4]) and row[4] >= 1


async def test_a_stalled_stream_is_ended_after_the_idle_timeout_and_charged(gateway: Gateway) -> None:
    gateway.openai.script(faults.stall_after(3))
    text, error = await openai_stream_text(gateway, "gpt")
    assert text == "echo: one" and error is not None
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:5] == (502, "stream_broken", "gpt", prompt_estimate(), tokens.estimate_text(text))
    assert row[6] == cost("gpt", prompt_estimate(), row[4])


@pytest.mark.parametrize("model", ["gpt", "claude"])
async def test_a_client_that_hangs_up_midway_is_logged_as_499_and_charged(gateway: Gateway, model: str) -> None:
    fake = gateway.openai if model == "gpt" else gateway.anthropic
    fake.script(faults.stall_after(5))
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
        stream = await sdk.chat.completions.create(model=model, messages=PROMPT, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        await stream.close()
    (row,) = await gateway.log_rows(1, COLUMNS)
    assert row[:3] == (499, "client_closed", model)
    assert row[4] >= 1 and row[6] == cost(model, row[3], row[4]) and row[6] > 0
