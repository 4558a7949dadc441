"""Adapter for Anthropic's API: `x-api-key` auth and an `anthropic-version` the client may override.

Anthropic's GET /v1/models is unbilled, so it is the probe, as for the OpenAI family.
"""

from __future__ import annotations

from gateway.providers import base, headers, openai

API_VERSION = "2023-06-01"


class AnthropicAdapter(openai.OpenAIAdapter):
    """The OpenAI adapter's shell with Anthropic's headers."""

    @staticmethod
    def header_sets(config: base.ProviderConfig) -> tuple[dict[str, str], dict[str, str]]:
        auth = {"x-api-key": config.api_key} if config.api_key else {}
        return headers.layered(config, {"anthropic-version": API_VERSION}), auth
