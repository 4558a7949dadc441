"""``GET /v1/models`` tells agents how large a request each model takes and what it can do, in the names each
SDK's clients read: OpenAI-compatible ``context_window``/``max_output_tokens``/``capabilities``, and Anthropic's
``max_input_tokens``/``max_tokens``/``capabilities``."""

from __future__ import annotations

import anthropic
import openai

from tests.plugins.gateway import Gateway

CLAUDE_WITH_LIMIT = """
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: claude}
spec:
  providerRef: anthropic
  upstreamModel: claude-fake-large
  aliases: [claude-fake-large]
  contextWindow: 200000
  maxOutputTokens: 64000
  pricing: {inputPer1K: 0.003, outputPer1K: 0.015}
  capabilities: [chat, tools, vision]
"""


async def test_openai_clients_read_the_window_the_output_limit_and_the_capabilities(gateway: Gateway) -> None:
    await gateway.until_revision(await gateway.apply(CLAUDE_WITH_LIMIT))
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
        listed = {model.id: model async for model in sdk.models.list()}
    claude, gpt, embed = listed["claude"], listed["gpt-4o-mini"], listed["embed"]
    assert (claude.owned_by, claude.model_extra) == (
        "anthropic",
        {"context_window": 200000, "max_output_tokens": 64000, "capabilities": ["chat", "tools", "vision"]},
    )
    assert gpt.model_extra == {
        "context_window": 128000,
        "max_output_tokens": None,
        "capabilities": ["chat", "json", "tools", "vision"],
    }
    assert embed.model_extra is not None and embed.model_extra["capabilities"] == ["embeddings"]


async def test_anthropic_clients_read_anthropics_own_fields(gateway: Gateway) -> None:
    await gateway.until_revision(await gateway.apply(CLAUDE_WITH_LIMIT))
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0) as sdk:
        listed = {model.id: model async for model in sdk.models.list()}
    claude, gpt = listed["claude-fake-large"], listed["gpt"]
    assert (claude.max_input_tokens, claude.max_tokens, claude.lifecycle) == (200000, 64000, "active")
    assert claude.capabilities is not None and claude.capabilities.image_input.supported
    assert not claude.capabilities.structured_outputs.supported
    assert (gpt.max_input_tokens, gpt.max_tokens) == (128000, None)
    assert gpt.capabilities is not None and gpt.capabilities.structured_outputs.supported
    assert gpt.capabilities.thinking is None  # not stated by the Model: unknown, not unsupported
