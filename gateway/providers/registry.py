"""Provider type to adapter: the one place that knows which class serves which `ProviderConfig.type`."""

from __future__ import annotations

from gateway.providers import anthropic, base, openai, session, vllm


def create_adapter(
    config: base.ProviderConfig, session_factory: session.SessionFactory = session.default_session
) -> base.ProviderAdapter:
    """A ready adapter; its session opens lazily on first use inside the running loop."""
    if config.type in ("openai", "openai-compatible"):
        return openai.OpenAIAdapter(config, session_factory)
    if config.type == "anthropic":
        return anthropic.AnthropicAdapter(config, session_factory)
    if config.type == "vllm":
        return vllm.VLLMAdapter(config, session_factory)
    raise ValueError(f"unknown provider type {config.type!r}")
