"""Provider type to adapter: the one place that knows which class serves which `ProviderConfig.type`."""

from __future__ import annotations

from gateway.providers import anthropic, base, openai, session, vllm


def create_adapter(
    config: base.ProviderConfig, client_factory: session.ClientFactory = session.default_client
) -> base.ProviderAdapter:
    """A ready adapter; its session opens lazily on first use inside the running loop."""
    if config.type in ("openai", "openai-compatible"):
        return openai.OpenAIAdapter(config, client_factory)
    if config.type == "anthropic":
        return anthropic.AnthropicAdapter(config, client_factory)
    if config.type == "vllm":
        return vllm.VLLMAdapter(config, client_factory)
    raise ValueError(f"unknown provider type {config.type!r}")
