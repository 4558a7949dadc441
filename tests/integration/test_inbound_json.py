"""A body that is not UTF-8, or JSON nested deeper than 64 levels, is a 400 in the client's shape on every model
endpoint, logged once and sent nowhere; refusals of the Idempotency-Key middleware and bugs get their row too.
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
import orjson
import pytest

from tests.plugins.gateway import Gateway

ENDPOINTS = [
    ("/v1/chat/completions", "chat.completions"),
    ("/v1/messages", "messages"),
    ("/v1/chat", "chat"),
    ("/v1/embeddings", "embeddings"),
]


def valid_body(path: str) -> dict[str, Any]:
    if path == "/v1/chat":
        return {"request": {"messages": [{"role": "user", "content": "hi"}], "model_hint": "gpt"}}
    if path == "/v1/embeddings":
        return {"model": "embed", "input": "hi"}
    return {"model": "gpt", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def deep_text(body: dict[str, Any], depth: int) -> bytes:
    """``body`` with a field that makes it ``depth`` levels deep, spliced in as text (orjson writes 255 at most)."""
    head = orjson.dumps({**body, "x_deep": 0})
    return head[:-2] + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


async def post(gateway: Gateway, path: str, content: bytes, **headers: str) -> httpx.Response:
    auth = {"x-api-key": gateway.key, "anthropic-version": "2023-06-01"} if path == "/v1/messages" else {}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        return await http.post(
            path,
            content=content,
            headers={"authorization": f"Bearer {gateway.key}", "content-type": "application/json", **auth, **headers},
        )


def error_of(path: str, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if path == "/v1/messages":
        assert body["type"] == "error"
    error: dict[str, Any] = body["error"]
    assert error["type"] == "invalid_request_error"
    return error


def nothing_sent_upstream(gateway: Gateway) -> bool:
    return not gateway.openai.requests and not gateway.anthropic.requests and not any(v.requests for v in gateway.vllm)


@pytest.mark.parametrize(("path", "endpoint"), ENDPOINTS)
@pytest.mark.parametrize("depth", [65, 300, 2000])
async def test_json_nested_deeper_than_64_levels_is_a_400(
    gateway: Gateway, path: str, endpoint: str, depth: int
) -> None:
    response = await post(gateway, path, deep_text(valid_body(path), depth))
    assert response.status_code == 400
    error = error_of(path, response)
    if depth < 1000:
        assert "deeper than 64 levels" in error["message"]
    else:  # beyond what the JSON parser itself takes
        assert "not valid JSON" in error["message"]
    (row,) = await gateway.log_rows(1, "endpoint, status, error_class")
    assert row == (endpoint, 400, "invalid_request")
    assert nothing_sent_upstream(gateway)


@pytest.mark.parametrize(("path", "endpoint"), ENDPOINTS)
async def test_json_nested_64_levels_deep_is_served(gateway: Gateway, path: str, endpoint: str) -> None:
    response = await post(gateway, path, deep_text(valid_body(path), 64))
    assert response.status_code == 200, response.text
    (row,) = await gateway.log_rows(1, "endpoint, status")
    assert row == (endpoint, 200)


@pytest.mark.parametrize(("path", "endpoint"), ENDPOINTS)
async def test_a_body_that_is_not_utf8_is_a_400_naming_the_encoding(gateway: Gateway, path: str, endpoint: str) -> None:
    text = orjson.dumps(valid_body(path)).replace(b'"hi"', b'"h\xff\xfei"')
    response = await post(gateway, path, text)
    assert response.status_code == 400
    assert "not valid UTF-8" in error_of(path, response)["message"]
    (row,) = await gateway.log_rows(1, "endpoint, status, error_class")
    assert row == (endpoint, 400, "invalid_request")
    assert nothing_sent_upstream(gateway)


async def test_an_escaped_lone_surrogate_is_a_400_too(gateway: Gateway) -> None:
    text = orjson.dumps(valid_body("/v1/chat/completions")).replace(b'"hi"', b'"\\ud800"')
    response = await post(gateway, "/v1/chat/completions", text)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
    (row,) = await gateway.log_rows(1, "status, error_class")
    assert row == (400, "invalid_request")


async def test_idempotency_refusals_are_in_the_clients_shape_and_logged(gateway: Gateway) -> None:
    chat = orjson.dumps(valid_body("/v1/chat/completions"))
    invalid = await post(gateway, "/v1/messages", orjson.dumps(valid_body("/v1/messages")), **{"idempotency-key": ""})
    first = await post(gateway, "/v1/chat/completions", chat, **{"idempotency-key": "order-7"})
    mismatch = await post(gateway, "/v1/chat/completions", chat + b" ", **{"idempotency-key": "order-7"})
    assert invalid.status_code == 400 and invalid.json()["type"] == "error"
    assert first.status_code == 200
    assert mismatch.status_code == 422 and mismatch.json()["error"]["code"] == "idempotency_error"
    rows = await gateway.log_rows(3, "endpoint, status, error_class")
    assert rows == [
        ("messages", 400, "invalid_request"),
        ("chat.completions", 200, None),
        ("chat.completions", 422, "idempotency_mismatch"),
    ]


async def test_a_bug_is_a_500_with_its_own_row(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object) -> NoReturn:
        raise RuntimeError("a bug, not an upstream failure")

    monkeypatch.setattr(gateway.runtime.embeddings, "create", broken)
    response = await post(gateway, "/v1/embeddings", orjson.dumps(valid_body("/v1/embeddings")))
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"
    (row,) = await gateway.log_rows(1, "endpoint, status, error_class, error_message")
    assert row == ("embeddings", 500, "internal", "unexpected RuntimeError; the gateway's log has the details")


async def test_model_listing_refusals_are_in_the_clients_shape_and_logged(gateway: Gateway) -> None:
    revision = await gateway.apply(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {name: embedder}
        spec: {scopes: [embeddings]}
        """
    )
    await gateway.until_revision(revision)
    embedder = await gateway.issue_key("embedder")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        unknown = await http.get("/v1/models", headers={"x-api-key": "thk_x", "anthropic-version": "2023-06-01"})
        forbidden = await http.get("/v1/models", headers={"authorization": f"Bearer {embedder}"})
    assert unknown.status_code == 401 and unknown.json()["error"]["type"] == "authentication_error"
    assert unknown.json()["type"] == "error"  # an Anthropic client gets Anthropic's shape
    assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "permission_error"
    rows = await gateway.log_rows(2, "endpoint, status, error_class")
    assert rows == [("models", 401, "unauthenticated"), ("models", 403, "forbidden")]
