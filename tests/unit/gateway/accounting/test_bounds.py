"""The reservation is an upper bound of what the upstream can bill, and nothing the client sends shrinks it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.accounting import bounds, pricing
from gateway.config import specs


def model(**fields: Any) -> specs.ModelSpec:
    base = {"providerRef": "p", "upstreamModel": "m", "contextWindow": 200_000, "pricing": {"inputPer1K": 0.003}}
    return specs.ModelSpec.model_validate(base | fields)


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}]} | fields


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def test_the_larger_of_max_tokens_and_max_completion_tokens_is_reserved() -> None:
    shape = bounds.shape(chat(max_completion_tokens=1, max_tokens=4000))
    assert bounds.output_tokens(shape, model()) == 4000
    shape = bounds.shape(chat(max_completion_tokens=4000, max_tokens=1))
    assert bounds.output_tokens(shape, model()) == 4000


def test_without_an_output_limit_the_models_limit_or_context_window_is_reserved() -> None:
    assert bounds.output_tokens(bounds.shape(chat()), model(maxOutputTokens=8192)) == 8192
    assert bounds.output_tokens(bounds.shape(chat()), model(contextWindow=32_000)) == 32_000


def test_responses_max_output_tokens_and_a_thinking_budget_past_max_tokens_are_reserved() -> None:
    assert bounds.output_tokens(bounds.shape(chat(max_output_tokens=700)), model()) == 700
    thinking = {"type": "enabled", "budget_tokens": 20_000}
    assert bounds.output_tokens(bounds.shape(chat(max_tokens=1024, thinking=thinking)), model()) == 20_000


def test_n_and_best_of_multiply_the_output() -> None:
    assert bounds.output_tokens(bounds.shape(chat(n=64, max_tokens=100)), model()) == 6400
    assert bounds.output_tokens(bounds.shape(chat(n=2, best_of=5, max_tokens=100)), model()) == 500


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 1000}, "n"),
        ({"n": "2"}, "n"),
        ({"best_of": 0}, "best_of"),
        ({"mcp_servers": [{"type": "url", "url": "https://mcp.example", "name": "x"}]}, "mcp_servers"),
        ({"container": "container_1"}, "container"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"tools": [{"name": "f", "input_schema": {}}, {"type": "web_search_20250305", "name": "web"}]}, "tools[1]"),
        ({"tools": [{"type": "code_execution_20250825", "name": "code_execution"}]}, "tools[0]"),
        ({"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]}, "tools[0]"),
    ],
)
def test_what_cannot_be_bounded_is_refused_by_name(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(bounds.Unpriced) as caught:
        bounds.shape(chat(**fields))
    assert caught.value.param == param
    named = fields["tools"][int(param[6])]["type"] if param.startswith("tools[") else param
    assert named in caught.value.message  # the sentence names what it refuses


def test_a_media_item_is_reserved_at_the_models_ceiling_however_short_its_url() -> None:
    content = [{"type": "text", "text": "what is it?"}, image("https://x.example/a.png"), image("h://b")]
    shape = bounds.shape(chat(messages=[{"role": "user", "content": content}]))
    assert shape.media == 2
    assert bounds.input_tokens(shape, model(mediaInputTokens=1600)) >= 3200
    # unset, each item may be as large as the whole context window: capped there
    assert bounds.input_tokens(shape, model(contextWindow=50_000)) == 50_000


def test_media_of_every_api_is_counted_nested_ones_too() -> None:
    anthropic = {
        "role": "user",
        "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x.example/a.png"}},
            {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {}}]},
        ],
    }
    openai = {"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}, {"type": "input_audio"}]}
    system = [{"type": "text", "text": "s"}, {"type": "image", "source": {}}]
    assert bounds.shape(chat(messages=[anthropic, openai], system=system)).media == 6


def test_provider_defined_tools_add_their_system_prompts() -> None:
    tools = [{"type": "computer_20250124", "name": "computer", "display_width_px": 1024}]
    plain = bounds.input_tokens(bounds.shape(chat()), model())
    with_tool = bounds.input_tokens(bounds.shape(chat(tools=tools)), model())
    assert with_tool - plain >= bounds.TOOLS_PROMPT_TOKENS + bounds.TYPED_TOOL_TOKENS


def test_embeddings_reserve_no_output() -> None:
    assert bounds.output_tokens(bounds.shape({"model": "e", "input": ["a", "b"]}), model()) == 0


def test_the_estimate_is_the_dearest_candidate() -> None:
    cheap, dear = model(pricing={"outputPer1K": 0.001}), model(pricing={"outputPer1K": 0.01})
    estimate = bounds.estimate(chat(max_tokens=1000), [cheap, dear])
    assert estimate.cost_usd == bounds.of_model(bounds.shape(chat(max_tokens=1000)), dear).cost_usd


# -- the property: whatever the request, what the upstream may bill fits in the reservation -----------------------

texts = st.text(max_size=40)
parts = st.one_of(
    texts.map(lambda t: {"type": "text", "text": t}),
    st.text(max_size=5).map(lambda u: image(u or "u")),
    st.just({"type": "file", "file": {"file_id": "f"}}),
    st.just({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}),
)
messages = st.lists(
    st.one_of(texts, st.lists(parts, min_size=1, max_size=6)).map(lambda c: {"role": "user", "content": c}),
    min_size=1,
    max_size=6,
)
limits = st.none() | st.integers(1, 50_000)


def media_count(content: object) -> int:
    return sum(1 for p in content if p.get("type") != "text") if isinstance(content, list) else 0


def text_bytes(content: object) -> int:
    if isinstance(content, str):
        return len(content.encode("utf-8", "surrogatepass"))
    assert isinstance(content, list)
    return sum(len(p["text"].encode("utf-8", "surrogatepass")) for p in content if p.get("type") == "text")


@given(
    messages=messages,
    max_tokens=limits,
    max_completion_tokens=limits,
    n=st.integers(1, bounds.MAX_CHOICES),
    context_window=st.integers(1, 300_000),
    max_output=st.none() | st.integers(1, 100_000),
    media_ceiling=st.none() | st.integers(1, 10_000),
    honoured=st.sampled_from(["max_tokens", "max_completion_tokens"]),
    item_share=st.floats(0, 1),
)
def test_the_reservation_covers_the_most_the_upstream_can_bill(
    messages: list[dict[str, Any]],
    max_tokens: int | None,
    max_completion_tokens: int | None,
    n: int,
    context_window: int,
    max_output: int | None,
    media_ceiling: int | None,
    honoured: str,
    item_share: float,
) -> None:
    body: dict[str, Any] = {"model": "m", "messages": messages, "n": n}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if max_completion_tokens is not None:
        body["max_completion_tokens"] = max_completion_tokens
    spec = model(
        contextWindow=context_window,
        maxOutputTokens=max_output,
        mediaInputTokens=media_ceiling,
        pricing={"inputPer1K": 0.003, "cacheWritePer1K": 0.00375, "outputPer1K": 0.015},
    )
    # The upstream's worst bill: one token per byte of text, each media item at (a share of) its declared most,
    # the prompt within the context window; output up to whichever limit it honours (or its own), n times.
    per_item = round((media_ceiling or context_window) * item_share)
    prompt = sum(text_bytes(m["content"]) + per_item * media_count(m["content"]) for m in messages)
    prompt = min(prompt, context_window)
    limit = body.get(honoured) or body.get("max_tokens") or body.get("max_completion_tokens")
    output = (limit or max_output or context_window) * n
    worst = pricing.Prices.of_spec(spec.pricing).bound(prompt, output)

    estimate = bounds.estimate(body, [spec])
    assert estimate.cost_usd >= worst
    assert estimate.tokens >= prompt + output
    assert estimate.cost_usd >= Decimal(0)
