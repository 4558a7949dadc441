from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import anthropic_to_responses, reasoning_state
from tests.unit.gateway.providers.wire import payloads, responses_sdk

REQUEST = {"model": "claude-alias", "input": "Weather in Paris?"}


def translate(message: dict[str, Any]) -> dict[str, Any]:
    return anthropic_to_responses.response(
        message, request=REQUEST, response_id="resp_1", created_at=1_700_000_000, model="claude-alias"
    )


def test_a_message_with_a_tool_call_keeps_its_cache_reads_and_writes() -> None:
    body = translate(payloads.anthropic_message())
    parsed = responses_sdk.response(body)
    assert parsed.output_text == "Let me look up both cities."
    assert body["output"][1] == {
        "type": "function_call",
        "id": "fc_1_1",
        "call_id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    }
    assert body["usage"] == {
        "input_tokens": 582,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 10},
        "output_tokens": 91,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 673,
    }
    assert body["status"] == "completed" and body["model"] == "claude-alias"


def test_thinking_becomes_a_reasoning_item_whose_encrypted_content_is_the_block() -> None:
    thinking = {"type": "thinking", "thinking": "Check Paris.", "signature": "EqQBCgIYAhIM"}
    body = translate(payloads.anthropic_message() | {"content": [thinking], "stop_reason": "max_tokens"})
    responses_sdk.response(body)
    item = body["output"][0]
    assert item["summary"] == [{"type": "summary_text", "text": "Check Paris."}]
    assert reasoning_state.decode(item["encrypted_content"]) == thinking
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}


def test_server_tool_blocks_are_left_out() -> None:
    content = [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]
    assert translate(payloads.anthropic_message() | {"content": content})["output"] == []


@given(st.text(), st.text(), st.booleans())
def test_thinking_state_survives_the_trip_and_anything_else_is_not_mistaken_for_it(
    text: str, signature: str, redacted: bool
) -> None:
    block = (
        {"type": "redacted_thinking", "data": signature}
        if redacted
        else {"type": "thinking", "thinking": text, "signature": signature}
    )
    encoded = reasoning_state.encode(block)
    assert reasoning_state.decode(encoded) == block
    assert reasoning_state.is_anthropic({"type": "reasoning", "encrypted_content": encoded})
    assert reasoning_state.decode(text if not text.startswith(reasoning_state.PREFIX) else "") is None
    assert reasoning_state.decode(encoded[:-2] + "!!") is None
    assert not reasoning_state.is_anthropic({"type": "reasoning", "encrypted_content": "gAAAAB" + text})
