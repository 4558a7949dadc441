"""The pure side of ``/v1/responses``: which API a provider gets, which tools are dropped, a continued
conversation, and the view routing and admission read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.accounting import bounds
from gateway.config import specs
from gateway.providers import errors as upstream_errors
from gateway.providers.wire import openai_responses
from gateway.serving import responses_dialects
from gateway.serving.responses_dialects import Route

FUNCTION = {"type": "function", "name": "shell", "parameters": {"type": "object"}}


def provider(**fields: Any) -> specs.ProviderSpec:
    return specs.ProviderSpec.model_validate({"baseURL": "https://h/v1", "apiKeySecretRef": {"name": "c"}} | fields)


@pytest.mark.parametrize(
    ("fields", "route"),
    [
        ({"type": "openai"}, Route.NATIVE),
        ({"type": "openai", "responsesAPI": False}, Route.CHAT),
        ({"type": "openai-compatible"}, Route.CHAT),
        ({"type": "openai-compatible", "responsesAPI": True}, Route.NATIVE),
        ({"type": "anthropic"}, Route.ANTHROPIC),
    ],
)
def test_each_provider_gets_the_api_it_speaks(fields: dict[str, Any], route: Route) -> None:
    assert responses_dialects.route_of(provider(**fields)) is route


builtin = st.sampled_from(["web_search", "tool_search", "file_search", "code_interpreter"]).map(lambda t: {"type": t})
client_tool = st.sampled_from(["a", "b", "c"]).map(lambda n: {"type": "function", "name": n})


@given(st.lists(builtin | client_tool, max_size=6), st.sets(st.sampled_from(["web_search", "tool_search"])))
def test_only_offered_built_in_tools_of_a_droppable_type_are_dropped(
    tools: list[dict[str, Any]], droppable: set[str]
) -> None:
    request = {"model": "m", "input": "hi", "tools": tools}
    sent, dropped = responses_dialects.without_dropped_tools(request, frozenset(droppable))
    assert sent.get("tools", []) == [tool for tool in tools if tool["type"] not in droppable]
    assert list(dropped) == list(dict.fromkeys(t["type"] for t in tools if t["type"] in droppable))
    assert request["tools"] == tools, "the client's request is not changed"


def test_a_forced_built_in_tool_is_kept_for_the_translator_to_refuse() -> None:
    request = {"model": "m", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}
    assert responses_dialects.without_dropped_tools(request, frozenset({"web_search"})) == (request, ())


def test_a_continued_request_puts_the_conversation_first_and_forgets_the_previous_id() -> None:
    conversation = [{"role": "user", "content": "a"}, {"type": "message", "role": "assistant", "content": "b"}]
    request = {"model": "m", "input": "c", "previous_response_id": "resp_1", "instructions": "be brief"}
    expanded = responses_dialects.continued(request, conversation)
    assert expanded == {
        "model": "m",
        "instructions": "be brief",
        "input": [*conversation, {"type": "message", "role": "user", "content": "c"}],
    }


def test_the_routing_view_shows_texts_tools_images_format_and_limit() -> None:
    request = {
        "model": "m",
        "instructions": "sys",
        "input": [
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "look"}, {"type": "input_image", "image_url": "u"}],
            },
            {"type": "function_call", "call_id": "c", "name": "shell", "arguments": '{"cmd":"ls"}'},
            {"type": "function_call_output", "call_id": "c", "output": "README"},
            {"type": "reasoning", "summary": [], "encrypted_content": "opaque-state"},
        ],
        "tools": [FUNCTION],
        "max_output_tokens": 100,
        "text": {"format": {"type": "json_object"}},
    }
    openai_responses.validate_request(request)
    view = responses_dialects.routing_body(request)
    assert view["model"] == "m" and view["max_tokens"] == 100 and view["tools"] == [FUNCTION]
    assert view["response_format"] == {"type": "json_object"}
    texts = orjson.dumps(view["messages"]).decode()
    for text in ("sys", "look", "image_url", '{\\"cmd\\":\\"ls\\"}', "README", "opaque-state"):
        assert text in texts


@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_the_admission_bound_covers_every_input_byte(texts: list[str]) -> None:
    """Admission's input bound must stay an upper bound of what the upstream will count."""
    request = {"model": "m", "input": [{"role": "user", "content": t} for t in texts]}
    spec = specs.ModelSpec.model_validate({"providerRef": "p", "upstreamModel": "m", "contextWindow": 100_000})
    bound = bounds.input_tokens(bounds.shape(responses_dialects.routing_body(request)), spec)
    assert bound >= sum(len(text.encode()) for text in texts)  # no tokenizer makes a token of less than a byte


def test_a_native_answer_comes_back_as_sent_with_its_usage() -> None:
    usage = {"input_tokens": 7, "output_tokens": 3, "input_tokens_details": {"cached_tokens": 2}}
    raw = orjson.dumps({"id": "resp_up", "object": "response", "status": "completed", "output": [], "usage": usage})
    inbound = responses_dialects.inbound(
        Route.NATIVE, {"model": "m"}, raw, response_id="resp_x", created_at=0, provider="p", input_estimate=99
    )
    assert inbound.body == raw and inbound.response["id"] == "resp_up"
    assert (inbound.usage.input_tokens, inbound.usage.cache_read_tokens, inbound.usage.output_tokens) == (5, 2, 3)


def test_a_success_body_that_is_not_json_is_a_malformed_response() -> None:
    with pytest.raises(upstream_errors.MalformedResponse):
        responses_dialects.inbound(
            Route.CHAT, {"model": "m"}, b"<html>", response_id="r", created_at=0, provider="p", input_estimate=1
        )


@pytest.mark.parametrize(("openai_type", "field"), [(True, "max_completion_tokens"), (False, "max_tokens")])
def test_a_chat_upstream_gets_the_output_limit_in_the_field_it_reads(openai_type: bool, field: str) -> None:
    request = {"model": "m", "input": "hi", "max_output_tokens": 64}
    out = responses_dialects.outbound(Route.CHAT, request, "up", openai_type=openai_type)
    assert out.path == "/chat/completions" and orjson.loads(out.body)[field] == 64


@pytest.mark.parametrize("route", [Route.NATIVE, Route.CHAT])
def test_an_answer_whose_usage_is_no_count_is_a_malformed_response(route: Route) -> None:
    body: dict[str, Any]
    if route is Route.NATIVE:
        body = {"id": "r", "object": "response", "output": [], "usage": {"input_tokens": "many", "output_tokens": 1}}
    else:
        body = {"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 3, "completion_tokens": 2.5}}
    with pytest.raises(upstream_errors.MalformedResponse):
        responses_dialects.inbound(
            route, {"model": "m"}, orjson.dumps(body), response_id="r", created_at=0, provider="p", input_estimate=1
        )
