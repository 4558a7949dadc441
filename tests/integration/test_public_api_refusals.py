"""Refusals the public-API fuzzer found answered outside the API's contract, each now a clear 4xx in its shape.

Every case here was a finding of ``test_public_api_fuzz``: a plain-text 404/405 from the router, a 500 from a
native message the OpenAI rules never saw, a whole number written ``5.0`` refused though JSON calls it an integer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.plugins.gateway import Gateway


async def send(gateway: Gateway, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        return await http.request(
            method, path, json=body, headers={"authorization": f"Bearer {gateway.key}", **headers}
        )


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/chat", "/v1/embeddings"])
async def test_a_method_an_openai_route_does_not_take_is_a_405_in_the_openai_shape(gateway: Gateway, path: str) -> None:
    response = await send(gateway, "GET", path)
    error = assert_openai_error(response, 405)
    assert error["message"] == f"GET is not allowed on {path}"
    assert response.headers["allow"] == "POST"


async def test_a_method_messages_does_not_take_is_a_405_in_the_anthropic_shape(gateway: Gateway) -> None:
    response = await send(gateway, "PUT", "/v1/messages", {"model": "claude"})
    assert response.status_code == 405
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "PUT is not allowed on /v1/messages"},
    }


async def test_an_unknown_path_is_a_404_in_the_openai_shape(gateway: Gateway) -> None:
    error = assert_openai_error(await send(gateway, "POST", "/v1/completions", {"model": "gpt"}), 404)
    assert error["type"] == "not_found_error"
    assert error["message"] == "no such endpoint: /v1/completions"


async def test_a_native_message_without_a_role_is_a_400_naming_it_not_a_500(gateway: Gateway) -> None:
    payload = {"request": {"messages": [{"content": "hi"}], "model_hint": "claude"}}
    error = assert_openai_error(await send(gateway, "POST", "/v1/chat", payload), 400)
    assert error["param"] == "request.messages[0].role"
    assert not gateway.anthropic.requests


async def test_a_native_parameter_is_held_to_the_openai_rules_and_named_where_it_was_sent(gateway: Gateway) -> None:
    payload = {"request": {"messages": [{"role": "user", "content": "hi"}], "parameters": {"temperature": 7}}}
    error = assert_openai_error(await send(gateway, "POST", "/v1/chat", payload), 400)
    assert error["param"] == "request.parameters.temperature"


async def test_a_whole_number_written_with_a_fraction_is_an_integer_and_goes_upstream_as_one(gateway: Gateway) -> None:
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5.0, "seed": 7.0}
    response = await send(gateway, "POST", "/v1/chat/completions", body)
    assert response.status_code == 200, response.text
    sent = gateway.openai.requests[-1].body
    assert b'"max_tokens":5,' in sent and b'"seed":7' in sent


async def test_the_gateway_serves_its_openapi_document_without_a_key(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert "/v1/messages" in document["paths"]


async def test_an_assistant_refusal_that_is_not_a_string_is_a_400_not_a_500(gateway: Gateway) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "refusal": ["no"]}]
    body = {"model": "claude", "messages": messages}
    error = assert_openai_error(await send(gateway, "POST", "/v1/chat/completions", body), 400)
    assert error["param"] == "messages[1].refusal"
    assert not gateway.anthropic.requests
