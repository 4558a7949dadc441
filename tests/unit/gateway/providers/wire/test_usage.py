from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import tokens
from gateway.providers.wire import usage
from gateway.providers.wire.errors import MalformedUpstream
from tests.unit.gateway.providers.wire import payloads


def test_openai_cached_prompt_tokens_are_counted_as_cache_reads() -> None:
    counted = usage.from_openai(payloads.openai_completion())
    assert counted == usage.Usage(input_tokens=18, output_tokens=17, cache_read_tokens=64)
    assert counted.total_input_tokens == 82


def test_anthropic_message_usage_keeps_cache_reads_and_writes() -> None:
    counted = usage.from_anthropic(payloads.anthropic_message())
    assert counted == usage.Usage(472, 91, cache_read_tokens=100, cache_write_tokens=10)
    assert counted.to_openai() == {
        "prompt_tokens": 582,
        "completion_tokens": 91,
        "total_tokens": 673,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 10},
    }


def test_bodies_without_usage_give_none() -> None:
    assert usage.from_openai({"choices": []}) is None
    assert usage.from_openai({"usage": None}) is None
    assert usage.from_anthropic({"type": "ping"}) is None


def test_message_start_event_usage_is_read_from_its_message() -> None:
    start = payloads.anthropic_stream()[0]
    assert usage.from_anthropic(start) == usage.Usage(472, 2)


def test_a_whole_anthropic_stream_is_charged_as_reported() -> None:
    acc = usage.UsageAccumulator(input_estimate=999)
    for event in payloads.anthropic_stream():
        acc.feed(event)
    assert acc.usage() == usage.Usage(472, 89)


def test_a_whole_openai_stream_is_charged_as_reported() -> None:
    acc = usage.UsageAccumulator(input_estimate=999)
    for chunk in payloads.openai_stream():
        acc.feed(chunk)
    assert acc.usage() == usage.Usage(120, 40)


def test_a_cut_anthropic_stream_is_charged_for_the_text_produced_and_flagged() -> None:
    acc = usage.UsageAccumulator()
    for event in payloads.anthropic_stream()[:5]:  # cut after two text deltas
        acc.feed(event)
    produced = tokens.count("Okay, let me check both.")
    assert acc.produced == produced
    assert acc.usage() == usage.Usage(472, tokens.estimate(produced), estimated=True)


def test_a_cut_openai_stream_uses_the_input_estimate_and_counts_tool_arguments() -> None:
    acc = usage.UsageAccumulator(input_estimate=100)
    for chunk in payloads.openai_stream()[:6]:
        acc.feed(chunk)
    produced = tokens.estimate_text("Let me check." + "get_weather" + '{"city": "Paris"}')
    assert acc.usage() == usage.Usage(100, produced, estimated=True)


def test_message_delta_input_counts_replace_those_of_message_start() -> None:
    acc = usage.UsageAccumulator()
    acc.feed({"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}})
    acc.feed(
        {
            "type": "message_delta",
            "delta": {},
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 5, "output_tokens": 7},
        }
    )
    assert acc.usage() == usage.Usage(12, 7, cache_read_tokens=5)


def test_cache_writes_reported_by_an_openai_compatible_router_are_counted_as_cache_writes() -> None:
    body = {
        "usage": {
            "prompt_tokens": 194,
            "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 50, "cache_write_tokens": 100, "audio_tokens": 0},
        }
    }
    assert usage.from_openai(body) == usage.Usage(44, 2, cache_read_tokens=50, cache_write_tokens=100)


def test_cache_writes_beyond_the_prompt_are_not_charged() -> None:
    body = {"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 90}}}
    counted = usage.from_openai(body)
    assert counted == usage.Usage(0, 0, cache_read_tokens=60, cache_write_tokens=40)
    assert counted is not None and counted.total_input_tokens == 100


def test_an_openai_stream_usage_chunk_with_cache_writes_is_charged_as_reported() -> None:
    acc = usage.UsageAccumulator(input_estimate=999)
    chunks = payloads.openai_stream()
    chunks[-1]["usage"]["prompt_tokens_details"] = {"cached_tokens": 20, "cache_write_tokens": 70}
    for chunk in chunks:
        acc.feed(chunk)
    assert acc.usage() == usage.Usage(30, 40, cache_read_tokens=20, cache_write_tokens=70)


counts = st.integers(0, usage.MAX_TOKENS // 3)  # prompt_tokens (the sum of three) stays a count the reader takes


@given(counts, counts, counts, counts)
def test_usage_goes_through_either_api_and_back_unchanged(
    uncached: int, output: int, cache_read: int, cache_write: int
) -> None:
    counted = usage.Usage(uncached, output, cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    assert usage.from_openai({"usage": counted.to_openai()}) == counted
    assert usage.from_anthropic({"usage": counted.to_anthropic()}) == counted
    assert counted.to_openai()["prompt_tokens"] == counted.total_input_tokens


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(int64, max_size=2),
    st.dictionaries(st.text(max_size=3), int64, max_size=2),
)
OPENAI_FIELDS = ("prompt_tokens", "completion_tokens", "cached_tokens")
ANTHROPIC_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def is_count(value: object) -> bool:
    return value is None or (type(value) is int and 0 <= value <= usage.MAX_TOKENS)


def in_range(counted: usage.Usage) -> bool:
    fields = (counted.input_tokens, counted.output_tokens, counted.cache_read_tokens, counted.cache_write_tokens)
    return all(0 <= n <= usage.MAX_TOKENS for n in fields)


@given(st.fixed_dictionaries(dict.fromkeys(OPENAI_FIELDS, json_values)))
def test_openai_usage_is_either_sane_counts_or_a_malformed_upstream(values: dict[str, object]) -> None:
    body = {
        "usage": {
            "prompt_tokens": values["prompt_tokens"],
            "completion_tokens": values["completion_tokens"],
            "prompt_tokens_details": {"cached_tokens": values["cached_tokens"]},
        }
    }
    # The upstream's JSON goes through orjson, as on the wire: numbers past 64 bits never parse at all.
    wire = orjson.loads(orjson.dumps(body))
    if all(is_count(v) for v in values.values()):
        counted = usage.from_openai(wire)
        assert counted is not None and in_range(counted)
    else:
        with pytest.raises(MalformedUpstream, match="not a whole number of tokens"):
            usage.from_openai(wire)


@given(st.fixed_dictionaries(dict.fromkeys(ANTHROPIC_FIELDS, json_values)), st.booleans())
def test_anthropic_usage_in_a_stream_never_takes_a_bad_count(values: dict[str, object], start: bool) -> None:
    acc = usage.UsageAccumulator(input_estimate=5)
    acc.feed({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "four words of text"}})
    before = acc.usage()
    event = {"type": "message_delta", "usage": values}
    if start:
        event = {"type": "message_start", "message": {"usage": values}}
    if all(is_count(v) for v in values.values()):
        acc.feed(event)
        assert in_range(acc.usage())
    else:
        with pytest.raises(MalformedUpstream):
            acc.feed(event)
        assert acc.usage() == before  # nothing of the bad event was taken


@pytest.mark.parametrize(
    "value",
    [3_000_000_000, -1, -(2**63), 12.5, 12.0, "12", True, [], {"n": 1}],
    ids=["3e9", "negative", "min-int64", "fraction", "float", "string", "bool", "list", "object"],
)
def test_each_hostile_count_names_its_field_and_value(value: object) -> None:
    with pytest.raises(MalformedUpstream, match=r"completion_tokens = .*not a whole number of tokens"):
        usage.from_openai({"usage": {"prompt_tokens": 3, "completion_tokens": value}})


def test_absent_and_null_counts_are_not_reported_rather_than_wrong() -> None:
    assert usage.from_openai({"usage": {"prompt_tokens": None}}) == usage.Usage(0, 0)
    acc = usage.UsageAccumulator(input_estimate=7)
    acc.feed({"type": "message_start", "message": {"usage": {"input_tokens": None}}})
    assert acc.usage().input_tokens == 7 and acc.usage().estimated
