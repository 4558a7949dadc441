from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import tokens


def test_english_prose_is_about_four_characters_per_token() -> None:
    text = "The quick brown fox jumps over the lazy dog while the farmer watches. " * 20
    estimate = tokens.count_text(text)
    assert 0.18 * len(text) < estimate < 0.3 * len(text)


def test_cjk_text_counts_about_one_token_per_character() -> None:
    text = "東京は日本の首都であり、世界最大の都市圏の一つです。" * 10
    assert 0.8 * len(text) < tokens.count_text(text) < 1.4 * len(text)


def test_tools_images_and_messages_add_to_the_input_estimate() -> None:
    base = tokens.estimate_input(["hello"])
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    assert tokens.estimate_input(["hello"], tools=[tool]) > base + tokens.DEFAULT.per_tool
    assert tokens.estimate_input(["hello"], images=2) == base + 2 * tokens.DEFAULT.per_image
    assert tokens.estimate_input(["hello", "again"]) > base + tokens.DEFAULT.per_message


def test_output_estimate_is_max_tokens_when_given() -> None:
    assert tokens.estimate_output(2048, 8192, 100) == 2048
    assert tokens.estimate_output(None, 8192, 8000) == 192
    assert tokens.estimate_output(None, 0, 10) == 512


@given(st.text())
def test_any_text_gets_a_finite_non_negative_estimate(text: str) -> None:
    n = tokens.count_text(text)
    assert 0 <= n <= 2.0 * len(text) + 1


@given(st.text(), st.text())
def test_estimate_grows_with_more_text(a: str, b: str) -> None:
    assert tokens.count_text(a + b) >= tokens.count_text(a) - 1e-9
