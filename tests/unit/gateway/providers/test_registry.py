"""Adapters are chosen by provider type and can be built before any event loop runs."""

from __future__ import annotations

import pytest

from gateway.providers import anthropic, base, openai, registry, vllm


def config(provider_type: str, base_urls: tuple[str, ...] = ("http://u/v1",)) -> base.ProviderConfig:
    return base.ProviderConfig(
        name="t/p",
        type=provider_type,  # type: ignore[arg-type]  # unknown types are part of what is tested
        base_urls=base_urls,
        api_key="secret-key",
        timeout_s=30.0,
    )


@pytest.mark.parametrize(
    ("provider_type", "adapter_class"),
    [
        ("openai", openai.OpenAIAdapter),
        ("openai-compatible", openai.OpenAIAdapter),
        ("anthropic", anthropic.AnthropicAdapter),
        ("vllm", vllm.VLLMAdapter),
    ],
)
def test_each_provider_type_gets_its_adapter_without_a_running_loop(provider_type: str, adapter_class: type) -> None:
    adapter = registry.create_adapter(config(provider_type))
    assert isinstance(adapter, adapter_class)
    assert adapter.config.type == provider_type


def test_an_unknown_type_or_a_missing_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider type"):
        registry.create_adapter(config("bedrock"))
    with pytest.raises(ValueError, match="no base URL"):
        registry.create_adapter(config("openai", ()))


def test_a_config_never_shows_its_key() -> None:
    assert "secret-key" not in repr(config("openai"))
    assert "api_key='***'" in repr(config("openai"))


def test_the_connect_timeout_is_capped_at_ten_seconds() -> None:
    assert config("openai").connect_timeout_s == 10.0
