"""The OpenAPI document agrees with the request validators, and the committed copy is what the code generates.

Bodies drawn from the document go through the validators themselves (no HTTP): a schema-valid body is accepted
unless it breaks one of the rules between messages that JSON Schema cannot state (listed per endpoint below), and a
schema-invalid body is refused. ``test_public_api_fuzz`` asks the same of a running gateway.
"""

from __future__ import annotations

import pathlib
import re
import typing
from collections.abc import Callable
from typing import Any

import hypothesis
import jsonschema_rs
import pytest
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from gateway.api import openapi
from gateway.api.openapi import anthropic_schema, native_schema, openai_schema, responses_api_schema
from gateway.providers.wire import anthropic_messages, openai_chat, openai_responses
from gateway.providers.wire.errors import WireError
from gateway.routing import modes
from gateway.serving import embeddings, errors, native

COMMITTED = pathlib.Path(__file__).parents[4] / "docs" / "openapi.json"
Case = schemathesis.Case[Any]
SCHEMA = schemathesis.openapi.from_dict(openapi.document())
SETTINGS = hypothesis.settings(
    max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)


def _object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WireError("", "not an object")
    return body


def _chat(body: object) -> None:
    openai_chat.validate_request(_object(body))


def _messages(body: object) -> None:
    anthropic_messages.validate_request(_object(body))


def _count(body: object) -> None:
    anthropic_messages.validate_request(_object(body), count_only=True)


def _native(body: object) -> None:
    native.parse(body)


def _embeddings(body: object) -> None:
    embeddings.validate(_object(body))


def _responses(body: object) -> None:
    openai_responses.validate_request(_object(body))


# tool names are unique across tools: a rule between items JSON Schema cannot state
MESSAGES_RULES = r"^(messages\[\d+\](\.content(\[\d+\]\.tool_use_id)?)?|tools\[\d+\]\.name|tool_choice\.name)$"
# Per endpoint: its validator, and the params a schema-valid body may still be refused at (rules between messages).
ENDPOINTS: dict[str, tuple[Callable[[object], None], str]] = {
    "/v1/chat/completions": (_chat, r"^(messages\[\d+\](\.tool_call_id)?|tool_choice\.function\.name)$"),
    "/v1/messages": (_messages, MESSAGES_RULES),
    "/v1/messages/count_tokens": (_count, MESSAGES_RULES),
    "/v1/chat": (
        _native,
        r"^(request\.messages\[\d+\](\.tool_call_id)?|request\.parameters\.tool_choice\.function\.name)$",
    ),
    "/v1/embeddings": (_embeddings, r"^$"),
    "/v1/responses": (_responses, r"^(input\[\d+\](\.call_id|\.type)?|tool_choice\.name)$"),
}


def _refused_at(validate: Callable[[object], None], body: object) -> str | None:
    """The param the validator names when it refuses ``body``, or ``None`` when it accepts it."""
    try:
        validate(body)
    except WireError as exc:
        return exc.param
    except errors.InvalidRequest as exc:
        return exc.param or ""
    return None


def test_the_committed_document_is_what_the_models_generate() -> None:
    assert COMMITTED.read_bytes() == openapi.render(), "docs/openapi.json is stale: run `make openapi`"


def test_the_document_lists_the_public_endpoints_with_both_ways_to_present_a_key() -> None:
    document = openapi.document()
    assert document["openapi"] == "3.1.0"
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("POST", "/v1/chat"),
        ("POST", "/v1/embeddings"),
        ("POST", "/v1/responses"),
        ("GET", "/v1/responses/{response_id}"),
        ("DELETE", "/v1/responses/{response_id}"),
        ("GET", "/v1/responses/{response_id}/input_items"),
        ("GET", "/v1/models"),
        ("GET", "/livez"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
    }
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "thk_<id>_<secret>"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}


def _literal_values(annotation: Any) -> set[str]:
    return {value for arg in typing.get_args(annotation) for value in (typing.get_args(arg) or (arg,))}


def test_the_models_use_the_validators_tables() -> None:
    roles = set()
    for message in typing.get_args(typing.get_args(openai_schema.ChatMessage)[0]):
        roles |= set(typing.get_args(message.model_fields["role"].annotation))
    assert roles == set(openai_chat.ROLES)
    parts = typing.get_args(typing.get_args(openai_schema.UserPart)[0])
    assert {typing.get_args(p.model_fields["type"].annotation)[0] for p in parts} == set(openai_chat.USER_PART_TYPES)
    blocks = typing.get_args(anthropic_schema.UserBlock) + typing.get_args(anthropic_schema.AssistantBlock)
    checked = {b for b in blocks if b is not anthropic_schema.MessagesOtherBlock}
    assert {typing.get_args(b.model_fields["type"].annotation)[0] for b in checked} == set(
        anthropic_messages.BLOCK_TYPES
    )
    other = anthropic_schema.MessagesOtherBlock.model_json_schema()["properties"]["type"]
    assert set(other["not"]["enum"]) == set(anthropic_messages.BLOCK_TYPES)
    assert set(typing.get_args(anthropic_schema.Effort)) == set(anthropic_messages.EFFORTS)
    thinking = typing.get_args(typing.get_args(anthropic_schema.Thinking)[0])
    assert {typing.get_args(t.model_fields["type"].annotation)[0] for t in thinking} == set(
        anthropic_messages.THINKING_TYPES
    )
    messages = typing.get_args(typing.get_args(anthropic_schema.Message)[0])
    assert {typing.get_args(m.model_fields["role"].annotation)[0] for m in messages} == set(anthropic_messages.ROLES)
    assert set(typing.get_args(anthropic_schema.ImageMediaType)) == set(anthropic_messages.IMAGE_MEDIA_TYPES)
    assert set(typing.get_args(native_schema.Mode)) == {mode.value for mode in modes.Mode}
    assert set(native_schema.NativePolicy.model_fields) == native.POLICY_FIELDS
    reasoning = responses_api_schema.ResponsesReasoningConfig.model_fields
    assert _literal_values(reasoning["effort"].annotation) - {type(None)} == set(openai_responses.EFFORTS)
    assert _literal_values(reasoning["summary"].annotation) - {type(None)} == set(openai_responses.SUMMARIES)
    image = responses_api_schema.ResponsesImagePart.model_fields["detail"].annotation
    assert _literal_values(image) - {type(None)} == set(openai_responses.IMAGE_DETAILS)


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_a_schema_valid_body_passes_its_validator_unless_it_breaks_a_rule_between_messages(path: str) -> None:
    validate, allowed = ENDPOINTS[path]

    @SETTINGS
    @hypothesis.given(SCHEMA[path]["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case: Case) -> None:
        param = _refused_at(validate, case.body)
        assert param is None or re.match(allowed, param), f"refused at {param!r}: {case.body!r}"

    run()


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_a_schema_invalid_body_is_refused_by_its_validator(path: str) -> None:
    validate, _ = ENDPOINTS[path]

    @SETTINGS
    @hypothesis.given(SCHEMA[path]["POST"].as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def run(case: Case) -> None:
        hypothesis.assume(case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY))
        assert _refused_at(validate, case.body) is not None, f"accepted: {case.body!r}"

    run()


USER = {"role": "user", "content": "hi"}
SYSTEM = {"role": "system", "content": "be brief"}
EDGES: list[tuple[str, dict[str, Any], bool]] = [
    ("NativeChatRequest", {"request": {"messages": [USER], "parameters": None}}, True),
    ("NativeChatRequest", {"request": {"messages": [USER], "parameters": {"stream_options": {}}}}, False),
    (
        "NativeChatRequest",
        {"request": {"messages": [USER], "parameters": {"stream_options": {}}, "stream": True}},
        True,
    ),
    ("NativeChatRequest", {"request": {"messages": [USER]}, "policy": {"speed": 1}}, False),
    ("ChatCompletionRequest", {"model": "m", "messages": [USER], "max_tokens": 5.0, "stream_options": None}, True),
    ("ChatCompletionRequest", {"model": "m", "messages": [USER], "stream_options": {}}, False),
    ("ChatCompletionRequest", {"model": "m", "messages": [{"role": "assistant", "refusal": "no"}]}, True),
    ("ChatCompletionRequest", {"model": "m", "messages": [{"role": "assistant", "tool_calls": []}]}, False),
    (
        "MessagesRequest",
        {"model": "m", "max_tokens": 1, "messages": [USER], "tools": [{"name": "t", "type": "x"}]},
        True,
    ),
    ("MessagesRequest", {"model": "m", "max_tokens": 1, "messages": [SYSTEM, USER, SYSTEM]}, True),
    ("MessagesRequest", {"model": "m", "max_tokens": 1, "messages": [SYSTEM]}, False),
    (
        "MessagesRequest",
        {"model": "m", "max_tokens": 1, "messages": [USER, {"role": "system", "output_config": {"effort": "low"}}]},
        True,
    ),
    ("MessagesRequest", {"model": "m", "max_tokens": 1, "messages": [USER, {"role": "system"}]}, False),
    (
        "MessagesRequest",
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                USER,
                {"role": "system", "content": "x", "output_config": {"format": {"type": "json_schema"}}},
            ],
        },
        False,
    ),
    (
        "MessagesRequest",
        {"model": "m", "max_tokens": 1, "messages": [USER], "thinking": {"type": "adaptive", "display": "omitted"}},
        True,
    ),
    (
        "MessagesRequest",
        {"model": "m", "max_tokens": 1, "messages": [USER], "thinking": {"type": "enabled", "budget_tokens": 1023}},
        False,
    ),
    (
        "MessagesRequest",
        {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "search_result"}]}]},
        True,
    ),
    (
        "MessagesRequest",
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": [{"type": "thinking", "thinking": "", "signature": "s"}]}],
        },
        False,
    ),
    (
        "MessagesRequest",
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"ttl": "1h"}}]}],
        },
        False,
    ),
    ("MessagesRequest", {"model": "m", "max_tokens": 1, "messages": [USER], "output_config": {"effort": "max"}}, True),
    ("MessagesCountTokensRequest", {"model": "m", "messages": [USER]}, True),
    ("MessagesCountTokensRequest", {"model": "m", "messages": [USER], "stream": False}, True),
    ("MessagesCountTokensRequest", {"model": "m", "messages": [USER], "stream": True}, False),
]


@pytest.mark.parametrize(("component", "body", "valid"), EDGES)
def test_the_document_and_the_validators_agree_at_the_edges(component: str, body: dict[str, Any], valid: bool) -> None:
    document = openapi.document()
    validator = jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    )
    assert validator.is_valid(body) is valid
    validate, _ = ENDPOINTS[
        {
            "NativeChatRequest": "/v1/chat",
            "ChatCompletionRequest": "/v1/chat/completions",
            "MessagesRequest": "/v1/messages",
            "MessagesCountTokensRequest": "/v1/messages/count_tokens",
        }[component]
    ]
    assert (_refused_at(validate, body) is None) is valid
