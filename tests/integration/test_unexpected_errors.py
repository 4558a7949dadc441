"""A bug in a model endpoint answers 500 in the shape of the client's API, and the gateway keeps serving."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
import pytest

from tests.plugins.gateway import Gateway

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/v1/chat/completions", {}, lambda body: body["error"]["type"] == "server_error"),
        ("/v1/messages", {"anthropic-version": "2023-06-01"}, lambda body: body["error"]["type"] == "api_error"),
    ],
)
async def test_an_unexpected_error_is_a_500_in_the_apis_shape(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, path: str, headers: dict[str, str], expected: Any
) -> None:
    async def broken(*_: object) -> NoReturn:
        raise RuntimeError("a bug, not an upstream failure")

    monkeypatch.setattr(gateway.runtime.chat, "complete", broken)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        auth = {"authorization": f"Bearer {gateway.key}", **headers}
        resp = await client.post(path, json=CHAT, headers=auth)
        assert resp.status_code == 500
        assert expected(resp.json())
        assert "a bug" not in resp.text  # details stay in the gateway's log
        monkeypatch.undo()
        models = await client.get("/v1/models", headers=auth)
        assert models.status_code == 200
