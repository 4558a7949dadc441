"""Stored responses: ``previous_response_id`` continues a conversation on any provider type, ``GET`` and ``DELETE``
``/v1/responses/{id}`` work on the key's own responses, and any other key finds nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import orjson
import psycopg
import pytest
import pytest_asyncio
from openai.types.responses import Response

from tests.integration.test_responses_api import EXTRA, client, upstream_of
from tests.plugins.gateway import Gateway

OTHER_KEY = """
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: other}
spec: {scopes: [chat]}
"""


@pytest_asyncio.fixture
async def gw(gateway: Gateway) -> Gateway:
    await gateway.until_revision(await gateway.apply(EXTRA.format(url=gateway.vllm[0].url) + "---\n" + OTHER_KEY))
    return gateway


async def written(gateway: Gateway) -> None:
    """Until this replica's writer has stored every response it was handed (5 s at most)."""
    for _ in range(500):
        if gateway.runtime.stored_responses.pending == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("stored responses were not written within 5 s")


async def stored_ids(gateway: Gateway) -> list[str]:
    async with await psycopg.AsyncConnection.connect(gateway.database_url) as conn:
        cur = await conn.execute("SELECT id FROM stored_responses ORDER BY created_at")
        return [row[0] for row in await cur.fetchall()]


def texts(body: Any) -> str:
    return str(body)


@pytest.mark.parametrize("model", ["gpt", "qwen", "claude"])
async def test_previous_response_id_continues_the_conversation(gw: Gateway, model: str) -> None:
    async with client(gw) as sdk:
        first = await sdk.responses.create(model=model, input="my name is Ada")
        second = await sdk.responses.create(model=model, input="what is my name", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.output_text == "echo: what is my name"
    sent = upstream_of(gw, model).requests[-1].json
    if model == "gpt":  # the upstream that answered first holds the conversation: the id goes as it came
        assert sent["previous_response_id"] == first.id and sent["input"] == "what is my name"
    else:  # the stored conversation goes in front of the new input
        assert "previous_response_id" not in sent
        assert "my name is Ada" in texts(sent) and "echo: my name is Ada" in texts(sent)
    usage = second.usage
    assert usage is not None and usage.input_tokens == 13  # both turns: 4 + 5 (the answer) + 4
    rows = await gw.log_rows(2)
    assert [row[:4] for row in rows] == [(200, model, rows[0][2], 4), (200, model, rows[1][2], 13)]


async def test_a_conversation_started_natively_continues_on_another_provider(gw: Gateway) -> None:
    async with client(gw) as sdk:
        first = await sdk.responses.create(model="gpt", input="remember the number 42")
        second = await sdk.responses.create(model="claude", input="which number", previous_response_id=first.id)
    assert second.output_text == "echo: which number"
    sent = gw.anthropic.requests[-1].json
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert "echo: remember the number 42" in texts(sent["messages"][1])


async def test_a_chain_of_three_turns_carries_every_earlier_turn(gw: Gateway) -> None:
    async with client(gw) as sdk:
        first = await sdk.responses.create(model="qwen", input="alpha")
        second = await sdk.responses.create(model="qwen", input="beta", previous_response_id=first.id)
        await sdk.responses.create(model="qwen", input="gamma", previous_response_id=second.id)
    sent = gw.vllm[0].requests[-1].json
    contents = [m["content"] for m in sent["messages"]]
    assert contents == ["alpha", "echo: alpha", "beta", "echo: beta", "gamma"]


@pytest.mark.parametrize("stream", [False, True])
async def test_get_returns_the_stored_response_and_delete_forgets_it(gw: Gateway, stream: bool) -> None:
    async with client(gw) as sdk:
        created: Response
        if stream:
            async with sdk.responses.stream(model="qwen", input="keep me") as events:
                created = await events.get_final_response()
        else:
            created = await sdk.responses.create(model="qwen", input="keep me")
        fetched = await sdk.responses.retrieve(created.id)
        shown = ("id", "status", "output_text", "usage", "model")  # the stream's own accumulator adds fields
        assert [getattr(fetched, name) for name in shown] == [getattr(created, name) for name in shown]
        await written(gw)
        assert await stored_ids(gw) == [created.id]
        raw = await sdk.responses.with_raw_response.delete(created.id)
        assert raw.status_code == 200 and orjson.loads(raw.content) == {
            "id": created.id,
            "object": "response",
            "deleted": True,
        }
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError) as info:
            await sdk.responses.create(model="qwen", input="again", previous_response_id=created.id)
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "previous_response_not_found"
    assert info.value.body["param"] == "previous_response_id"
    assert await stored_ids(gw) == []
    rows = await gw.log_rows(5, "endpoint, status")
    assert rows == [
        ("responses", 200),
        ("responses.retrieve", 200),
        ("responses.delete", 200),
        ("responses.retrieve", 404),
        ("responses", 404),
    ]


async def test_another_key_finds_nothing(gw: Gateway) -> None:
    other_key = await gw.issue_key("other")
    async with client(gw) as sdk:
        mine = await sdk.responses.create(model="claude", input="private words")
    for _ in range(2):  # while the row waits in this replica's memory, then once it is in Postgres
        await assert_hidden_from(gw, other_key, mine.id)
        await written(gw)
    assert await stored_ids(gw) == [mine.id]
    async with client(gw) as sdk:
        assert (await sdk.responses.retrieve(mine.id)).output_text == "echo: private words"
    assert len(gw.anthropic.requests) == 1, "the refused continuations never reached an upstream"


async def assert_hidden_from(gw: Gateway, other_key: str, response_id: str) -> None:
    async with client(gw, other_key) as other:
        with pytest.raises(openai.NotFoundError):
            await other.responses.retrieve(response_id)
        with pytest.raises(openai.NotFoundError):
            await other.responses.delete(response_id)
        with pytest.raises(openai.NotFoundError):
            await other.responses.create(model="claude", input="tell me", previous_response_id=response_id)


async def test_store_false_keeps_nothing(gw: Gateway) -> None:
    async with client(gw) as sdk:
        created = await sdk.responses.create(model="qwen", input="forget me", store=False)
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(created.id)
    assert await stored_ids(gw) == []


async def test_input_items_list_every_item_the_response_answered(gw: Gateway) -> None:
    async with client(gw) as sdk:
        first = await sdk.responses.create(model="qwen", input="alpha")
        second = await sdk.responses.create(model="qwen", input="beta", previous_response_id=first.id)
        newest_first = [item async for item in sdk.responses.input_items.list(second.id, limit=2)]
        oldest_first = await sdk.responses.input_items.list(second.id, order="asc")
        with pytest.raises(openai.BadRequestError) as info:
            await sdk.responses.input_items.list(second.id, limit=500)
    texts_of = [[part.text for part in item.content] for item in oldest_first.data]  # type: ignore[union-attr]
    assert texts_of == [["alpha"], ["echo: alpha"], ["beta"]]
    assert [item.role for item in oldest_first.data] == ["user", "assistant", "user"]  # type: ignore[union-attr]
    assert [item.id for item in newest_first] == [item.id for item in reversed(oldest_first.data)]
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "limit"
