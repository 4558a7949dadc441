"""Bad requests get a clear 4xx in the shape of the API the client speaks, and are logged as failures.

Each refusal writes its request-log row with the 4xx status and the refusal's class, never a 200, and nothing
reaches an upstream.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.plugins.gateway import Gateway

OVERSIZED = 10 * 1024 * 1024 + 1
MALFORMED_KEY = "sk-not-a-tokenhub-key"
UNKNOWN_KEY = "thk_aaaaaaaaaaaaaaaa_" + "b" * 56


def openai_client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key or gateway.key, max_retries=0)


def anthropic_client(gateway: Gateway, key: str | None = None) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gateway.url, api_key=key or gateway.key, max_retries=0)


def nothing_sent_upstream(gateway: Gateway) -> bool:
    return not gateway.openai.requests and not gateway.anthropic.requests and not any(v.requests for v in gateway.vllm)


async def refusal_logged(gateway: Gateway, status: int, error_class: str) -> None:
    (row,) = await gateway.log_rows(1, "status, error_class, cost_usd, key_id IS NOT NULL")
    assert row[:3] == (status, error_class, 0)


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic"), ("/v1/embeddings", "openai")],
)
async def test_invalid_json_is_a_400_in_the_apis_own_shape(gateway: Gateway, path: str, shape: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            path,
            content=b'{"model": "gpt", "messages": [',
            headers={"authorization": f"Bearer {gateway.key}", "content-type": "application/json"},
        )
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    if shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    else:
        assert body["error"]["type"] == "invalid_request_error"
    assert "JSON" in (body["error"]["message"])
    assert response.headers["x-tokenhub-request-id"]
    await refusal_logged(gateway, 400, "invalid_request")
    assert nothing_sent_upstream(gateway)


async def test_no_messages_is_a_400_naming_the_field_for_openai_clients(gateway: Gateway) -> None:
    async with openai_client(gateway) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.chat.completions.create(model="gpt", messages=[])
    assert "messages" in info.value.message
    await refusal_logged(gateway, 400, "invalid_request")
    assert nothing_sent_upstream(gateway)


async def test_no_messages_is_a_400_naming_the_field_for_anthropic_clients(gateway: Gateway) -> None:
    async with anthropic_client(gateway) as sdk:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk.messages.create(model="claude", max_tokens=8, messages=[])
    assert isinstance(info.value.body, dict) and info.value.body["error"]["type"] == "invalid_request_error"
    assert "messages" in info.value.message
    await refusal_logged(gateway, 400, "invalid_request")


async def test_missing_max_tokens_is_refused_for_anthropic_clients_as_anthropic_does(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/v1/messages",
            json={"model": "claude", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01"},
        )
    assert response.status_code == 400 and "max_tokens" in response.json()["error"]["message"]
    assert nothing_sent_upstream(gateway)


async def test_unknown_model_is_a_404_for_embeddings_too(gateway: Gateway) -> None:
    async with openai_client(gateway) as sdk:
        with pytest.raises(openai.NotFoundError):
            await sdk.embeddings.create(model="no-such-embedder", input="x")
    await refusal_logged(gateway, 404, "model_not_found")


async def test_a_chat_model_asked_for_embeddings_is_a_400_not_a_provider_call(gateway: Gateway) -> None:
    async with openai_client(gateway) as sdk:
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.embeddings.create(model="gpt", input="x")
    assert "embeddings" in info.value.message
    assert nothing_sent_upstream(gateway)


async def test_oversized_body_is_a_413_for_openai_clients(gateway: Gateway) -> None:
    async with openai_client(gateway) as sdk:
        with pytest.raises(openai.APIStatusError) as info:
            await sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x" * OVERSIZED}])
    assert info.value.status_code == 413
    assert "exceeds" in info.value.message
    await refusal_logged(gateway, 413, "payload_too_large")
    assert nothing_sent_upstream(gateway)


async def test_oversized_body_is_a_413_request_too_large_for_anthropic_clients(gateway: Gateway) -> None:
    async with anthropic_client(gateway) as sdk:
        with pytest.raises(anthropic.APIStatusError) as info:
            await sdk.messages.create(
                model="claude", max_tokens=8, messages=[{"role": "user", "content": "x" * OVERSIZED}]
            )
    assert info.value.status_code == 413
    assert isinstance(info.value.body, dict) and info.value.body["error"]["type"] == "request_too_large"
    await refusal_logged(gateway, 413, "payload_too_large")


async def test_oversized_chunked_body_without_a_length_is_refused_too(gateway: Gateway) -> None:
    async def chunks() -> Any:
        piece = b"x" * (1024 * 1024)
        yield b'{"model": "gpt", "messages": [{"role": "user", "content": "'
        for _ in range(11):
            yield piece
        yield b'"}]}'

    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/v1/chat/completions", content=chunks(), headers={"authorization": f"Bearer {gateway.key}"}
        )
    assert response.status_code == 413
    await refusal_logged(gateway, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "missing API key"),
        (MALFORMED_KEY, "invalid API key"),
        (UNKNOWN_KEY, "invalid API key"),
    ],
)
async def test_missing_malformed_or_unknown_key_is_a_401(gateway: Gateway, key: str | None, message: str) -> None:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={"model": "gpt", "messages": [{"role": "user", "content": "x"}]},
            headers=headers,
        )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert message in response.json()["error"]["message"]
    (row,) = await gateway.log_rows(1, "status, error_class, key_id")
    assert row == (401, "unauthenticated", None)
    assert nothing_sent_upstream(gateway)


async def test_wrong_key_is_an_anthropic_authentication_error_for_anthropic_clients(gateway: Gateway) -> None:
    async with anthropic_client(gateway, UNKNOWN_KEY) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as info:
            await sdk.messages.create(model="claude", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert info.value.body == {"type": "error", "error": {"type": "authentication_error", "message": "invalid API key"}}
    await refusal_logged(gateway, 401, "unauthenticated")


async def test_a_key_for_chat_only_is_refused_for_embeddings_with_403(gateway: Gateway) -> None:
    async with openai_client(gateway, gateway.chat_only_key) as sdk:
        with pytest.raises(openai.PermissionDeniedError) as info:
            await sdk.embeddings.create(model="embed", input="some text")
    assert "embeddings" in info.value.message
    await refusal_logged(gateway, 403, "forbidden")
    assert nothing_sent_upstream(gateway)


async def test_a_key_without_the_chat_scope_is_refused_chat_with_403(gateway: Gateway) -> None:
    revision = await gateway.apply(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {name: lister}
        spec: {scopes: [models]}
        """
    )
    await gateway.until_revision(revision)
    key = await gateway.issue_key("lister")
    async with openai_client(gateway, key) as sdk:
        assert [m.id async for m in sdk.models.list()]  # what the scope allows still works
        with pytest.raises(openai.PermissionDeniedError):
            await sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])
    async with anthropic_client(gateway, key) as sdk:
        with pytest.raises(anthropic.PermissionDeniedError):
            await sdk.messages.create(model="gpt", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    rows = await gateway.log_rows(3, "endpoint, status, error_class")
    assert rows == [("models", 200, None), ("chat.completions", 403, "forbidden"), ("messages", 403, "forbidden")]
    assert nothing_sent_upstream(gateway)


async def test_an_expired_key_is_refused_with_401(gateway: Gateway) -> None:
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    revision = await gateway.apply(
        f"""
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {{name: expired}}
        spec: {{scopes: [chat], expiresAt: "{past}"}}
        """
    )
    await gateway.until_revision(revision)
    key = await gateway.issue_key("expired")
    async with openai_client(gateway, key) as sdk:
        with pytest.raises(openai.AuthenticationError) as info:
            await sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])
    assert "expired" in info.value.message
    (row,) = await gateway.log_rows(1, "status, error_class, key_id")
    assert row == (401, "unauthenticated", None)
