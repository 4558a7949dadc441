"""The one token estimate: never under real tokenizers on natural text, additive, monotone, bounded by bytes.

``token_samples.json`` holds texts written for this repository (prose, chat, Markdown, Python, JSON, a numbers
table, 20 languages, emoji) with their counts under cl100k_base and o200k_base, computed once with bpe-openai
(tiktoken's BPE with both vocabularies bundled; no tokenizer is a dependency of the project).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import usage

SAMPLES: list[dict[str, Any]] = json.loads((pathlib.Path(__file__).parent / "token_samples.json").read_text())[
    "samples"
]
CJK = ("chinese_simplified", "chinese_traditional", "japanese", "korean")


def reference(sample: dict[str, Any]) -> int:
    return max(int(sample["cl100k_base"]), int(sample["o200k_base"]))


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_the_estimate_is_never_under_either_tokenizer(sample: dict[str, Any]) -> None:
    estimate = tokens.estimate_text(sample["text"])
    assert estimate >= reference(sample)
    assert estimate <= len(sample["text"].encode())  # and never past the byte ceiling


@pytest.mark.parametrize("name", CJK)
def test_characters_over_four_under_counts_cjk_about_fourfold_and_the_estimate_does_not(name: str) -> None:
    (sample,) = [s for s in SAMPLES if s["name"] == name]
    assert len(sample["text"]) / 4 < 0.3 * reference(sample)  # what billing cut streams charged before
    assert tokens.estimate_text(sample["text"]) >= reference(sample)


def test_english_is_counted_high_but_not_absurdly() -> None:
    (sample,) = [s for s in SAMPLES if s["name"] == "english_prose"]
    assert reference(sample) <= tokens.estimate_text(sample["text"]) <= 2 * reference(sample)


@given(st.text(), st.text())
def test_tallies_add_so_a_stream_counts_the_same_in_any_pieces(a: str, b: str) -> None:
    assert tokens.count(a) + tokens.count(b) == tokens.count(a + b)


@given(st.text(), st.text())
def test_more_text_never_estimates_fewer_tokens(a: str, b: str) -> None:
    assert tokens.estimate_text(a + b) >= tokens.estimate_text(a)
    assert tokens.estimate_text(b + a) >= tokens.estimate_text(a)


@given(st.text())
def test_the_estimate_stays_within_the_byte_ceiling(text: str) -> None:
    tally = tokens.count(text)
    assert tally.utf8_bytes == len(text.encode("utf-8", "surrogatepass")) == tokens.ceiling(tally)
    assert 0 <= tokens.estimate(tally) <= tokens.ceiling(tally)
    assert (tokens.estimate(tally) > 0) == (text != "")


@given(st.text())
def test_every_character_lands_in_exactly_one_class(text: str) -> None:
    t = tokens.count(text)
    classes = (t.letters, t.digits, t.punct, t.spaces, t.latin, t.two_byte, t.cjk, t.three_byte, t.four_byte)
    assert min(classes) >= 0 and sum(classes) == len(text)


def test_classes_are_told_apart() -> None:
    t = tokens.count("ab1 ,é Ж 中 ệ ก 😀")
    assert (t.letters, t.digits, t.punct, t.spaces) == (2, 1, 1, 6)
    assert (t.latin, t.two_byte, t.cjk, t.three_byte, t.four_byte) == (2, 1, 1, 1, 1)


def test_a_request_adds_its_overheads() -> None:
    base = tokens.estimate_input(["hello"])
    assert base == tokens.estimate_text("hello") + tokens.PER_REQUEST + tokens.PER_MESSAGE
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    assert tokens.estimate_input(["hello"], tools=[tool]) > base + tokens.PER_TOOL
    assert tokens.estimate_input(["hello"], images=2) == base + 2 * tokens.PER_IMAGE


@pytest.mark.parametrize("name", CJK)
def test_a_cut_cjk_stream_is_charged_at_least_what_the_tokenizers_count(name: str) -> None:
    (sample,) = [s for s in SAMPLES if s["name"] == name]
    text: str = sample["text"]
    acc = usage.UsageAccumulator(input_estimate=10)
    for start in range(0, len(text), 3):  # three characters per delta, as a stream sends them
        piece = text[start : start + 3]
        acc.feed({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]})
    charged = acc.usage()
    assert charged.estimated and charged.output_tokens == tokens.estimate_text(text) >= reference(sample)
