"""``anthropic-beta`` through TokenHub: allowed betas and ``?beta=true`` reach Anthropic providers as sent, a beta
``TOKENHUB_ANTHROPIC_BETAS`` does not allow is dropped and named in ``x-tokenhub-dropped-betas``, and no beta ever
reaches a provider of another API."""

from __future__ import annotations

import dataclasses
from typing import Any

import anthropic
import pytest

from gateway import settings as settings_mod
from tests.plugins.gateway import Gateway

MESSAGES: Any = [{"role": "user", "content": "hello betas"}]
BETA_QUERY = {"beta": "true"}  # what Claude Code's bundled SDK adds to beta calls (this SDK version does not)
ALLOWED = "claude-code-20250219"
PRICED = "context-1m-2025-08-07"  # long prompts billed at a premium: not allowed by default


def client(gateway: Gateway) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_beta_not_allowed_is_dropped_and_named_in_the_response(gateway: Gateway, stream: bool) -> None:
    async with client(gateway) as sdk:
        if stream:
            async with sdk.beta.messages.with_streaming_response.create(
                model="claude",
                max_tokens=16,
                messages=MESSAGES,
                betas=[ALLOWED, PRICED],
                stream=True,
                extra_query=BETA_QUERY,
            ) as raw:
                headers = raw.headers
                await raw.read()
        else:
            raw_reply = await sdk.beta.messages.with_raw_response.create(
                model="claude", max_tokens=16, messages=MESSAGES, betas=[ALLOWED, PRICED], extra_query=BETA_QUERY
            )
            headers = raw_reply.headers
            assert (await raw_reply.parse()).content[0].type == "text"
    assert headers["x-tokenhub-dropped-betas"] == PRICED
    (sent,) = gateway.anthropic.requests
    assert sent.headers["anthropic-beta"] == ALLOWED
    assert sent.query == "beta=true"
    assert await gateway.metric("tokenhub_anthropic_betas_dropped_total") == 1


async def test_when_every_beta_is_dropped_no_beta_header_is_sent(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.beta.messages.with_raw_response.create(
            model="claude", max_tokens=16, messages=MESSAGES, betas=[PRICED, "files-api-2025-04-14"]
        )
    assert raw.headers["x-tokenhub-dropped-betas"] == f"{PRICED},files-api-2025-04-14"
    (sent,) = gateway.anthropic.requests
    assert "anthropic-beta" not in sent.headers and sent.query == ""
    assert sent.headers["anthropic-version"] == raw.http_request.headers["anthropic-version"]


@pytest.mark.parametrize("model", ["gpt", "llama"])
async def test_betas_and_the_beta_query_never_reach_another_api(gateway: Gateway, model: str) -> None:
    async with client(gateway) as sdk:
        reply = await sdk.beta.messages.create(
            model=model, max_tokens=16, messages=MESSAGES, betas=[ALLOWED], extra_query=BETA_QUERY
        )
    assert reply.content[0].type == "text"
    fake = gateway.openai if model == "gpt" else gateway.vllm[0]
    (sent,) = fake.requests
    assert sent.query == "" and not any(name.startswith("anthropic-") for name in sent.headers)


async def test_a_count_carries_the_allowed_betas_and_the_beta_query(gateway: Gateway) -> None:
    async with client(gateway) as sdk:
        raw = await sdk.beta.messages.with_raw_response.count_tokens(
            model="claude", messages=MESSAGES, betas=[ALLOWED, PRICED], extra_query=BETA_QUERY
        )
    assert (await raw.parse()).input_tokens == 2
    assert raw.headers["x-tokenhub-dropped-betas"] == PRICED
    (sent,) = gateway.anthropic.requests
    assert (sent.path, sent.query) == ("/v1/messages/count_tokens", "beta=true")
    assert sent.headers["anthropic-beta"] == f"{ALLOWED},token-counting-2024-11-01"  # the SDK adds its own


class TestEveryBetaAllowed:
    @pytest.fixture
    def gateway_settings(self, gateway_settings: settings_mod.Settings) -> settings_mod.Settings:
        return dataclasses.replace(gateway_settings, anthropic_betas=None)  # TOKENHUB_ANTHROPIC_BETAS=*

    async def test_every_beta_passes_as_sent(self, gateway: Gateway) -> None:
        async with client(gateway) as sdk:
            raw = await sdk.beta.messages.with_raw_response.create(
                model="claude", max_tokens=16, messages=MESSAGES, betas=[ALLOWED, PRICED]
            )
        assert "x-tokenhub-dropped-betas" not in raw.headers
        (sent,) = gateway.anthropic.requests
        assert sent.headers["anthropic-beta"] == f"{ALLOWED},{PRICED}"
