"""The upstream's answer is scanned for the model it names and its finish reasons, in whole bodies and streams."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util import types as otel_types

from gateway.serving import calls, traced
from gateway.serving.dialects import ClientApi


def scanned(*chunks: bytes) -> dict[str, otel_types.AttributeValue]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("test").start_span("attempt")
    answer = traced._Answer(span)
    for chunk in chunks:
        answer.scan(chunk)
    span.end()
    (finished,) = exporter.get_finished_spans()
    return dict(finished.attributes or {})


def test_an_openai_body_names_its_model_and_finish_reasons() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": 'say "model": "x"'}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": "cut"}, "finish_reason": "length"},
        ],
    }
    attributes = scanned(orjson.dumps(body))
    assert attributes == {
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop", "length"),
    }


def test_a_stream_is_scanned_chunk_by_chunk_and_nulls_are_no_reasons() -> None:
    head = b'data: {"model":"m-1","choices":[{"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    tail = b'data: {"model":"m-1","choices":[{"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n'
    assert scanned(head, tail) == {
        "gen_ai.response.model": "m-1",
        "gen_ai.response.finish_reasons": ("tool_calls",),
    }


def test_an_anthropic_stop_reason_is_a_finish_reason() -> None:
    event = b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n'
    assert scanned(event) == {"gen_ai.response.finish_reasons": ("end_turn",)}


@given(st.text(max_size=200) | st.sampled_from(['"model": "fake"', '\\"model\\": "fake"', "\\"]))
def test_text_inside_the_content_is_never_taken_for_the_model(content: str) -> None:
    body = orjson.dumps({"choices": [{"message": {"content": content}}], "model": "real"})
    # JSON escapes every quote inside a string, so a quoted "model" in the text cannot match first.
    assert scanned(body)["gen_ai.response.model"] == "real"


def test_finish_reasons_are_bounded() -> None:
    body = orjson.dumps({"choices": [{"finish_reason": "stop"}] * 50})
    attributes = scanned(body)
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",) * traced.MAX_FINISH_REASONS


def test_a_call_outside_a_traced_request_has_no_trace() -> None:
    assert calls.Call(ClientApi.OPENAI, "chat.completions", "req-1").trace is None
