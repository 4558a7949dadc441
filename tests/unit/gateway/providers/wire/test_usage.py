from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import usage
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
    produced = len("Okay, let me") + len(" check both.")
    assert acc.produced_chars == produced
    assert acc.usage() == usage.Usage(472, -(-produced // 4), estimated=True)


def test_a_cut_openai_stream_uses_the_input_estimate_and_counts_tool_arguments() -> None:
    acc = usage.UsageAccumulator(input_estimate=100)
    for chunk in payloads.openai_stream()[:6]:
        acc.feed(chunk)
    produced = len("Let me check.") + len("get_weather") + len('{"city": "Paris"}')
    assert acc.usage() == usage.Usage(100, -(-produced // 4), estimated=True)


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


def test_estimate_rounds_up() -> None:
    assert [usage.estimate_tokens(n) for n in (0, 1, 4, 5)] == [0, 1, 1, 2]


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


counts = st.integers(0, 10**9)


@given(counts, counts, counts, counts)
def test_usage_goes_through_either_api_and_back_unchanged(
    uncached: int, output: int, cache_read: int, cache_write: int
) -> None:
    counted = usage.Usage(uncached, output, cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    assert usage.from_openai({"usage": counted.to_openai()}) == counted
    assert usage.from_anthropic({"usage": counted.to_anthropic()}) == counted
    assert counted.to_openai()["prompt_tokens"] == counted.total_input_tokens
