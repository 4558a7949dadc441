"""``tokenhub keys create|list|rotate|disable`` against the store a running gateway follows.

A key created on the command line works as soon as the gateway has the new config revision; a disabled one -
by the command or by applying its ApiKey with ``disabled: true`` - is refused from that revision on, with no
cache to wait out. Waits are on the gateway's config revision, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import re

import openai
import pytest

from gateway import cli
from tests.plugins.gateway import Gateway

HELLO: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


async def keys_command(database_url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    args = cli.build_parser().parse_args(["keys", *argv])
    assert await args.keys_action(database_url, args) == 0
    return capsys.readouterr().out


def revision_in(output: str) -> int:
    found = re.search(r"revision (\d+)", output)
    assert found is not None, output
    return int(found.group(1))


async def chat_status(gateway: Gateway, key: str) -> int:
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key, max_retries=0) as sdk:
        try:
            await sdk.chat.completions.create(model="gpt", messages=HELLO)
        except openai.APIStatusError as exc:
            return exc.status_code
    return 200


async def test_a_created_key_works_is_listed_without_its_secret_and_is_refused_once_disabled(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    key = (await keys_command(gateway.database_url, capsys, "create", "ci-bot", "--scope", "chat")).strip()
    assert key.startswith("thk_")
    await gateway.catch_up()
    assert await chat_status(gateway, key) == 200

    listing = await keys_command(gateway.database_url, capsys, "list")
    (line,) = [line for line in listing.splitlines() if "default/ci-bot" in line]
    assert "active" in line and key not in listing and key.rsplit("_", 1)[1] not in listing

    disabled = await keys_command(gateway.database_url, capsys, "disable", "ci-bot")
    await gateway.until_revision(revision_in(disabled))
    assert await chat_status(gateway, key) == 401
    assert await chat_status(gateway, gateway.key) == 200, "other keys are untouched"
    rows = await gateway.log_rows(3, "status, key_name, error_message")
    assert rows[0][:2] == (200, "ci-bot")
    assert rows[1] == (401, None, "this API key is disabled")


async def test_a_key_disabled_in_its_manifest_is_refused_after_the_reload(gateway: Gateway) -> None:
    assert await chat_status(gateway, gateway.chat_only_key) == 200
    revision = await gateway.apply(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {name: chat-only}
        spec: {scopes: [chat], disabled: true}
        """
    )
    await gateway.until_revision(revision)
    assert await chat_status(gateway, gateway.chat_only_key) == 401
    rows = await gateway.log_rows(2, "status, error_class")
    assert rows == [(200, None), (401, "unauthenticated")]


async def test_rotation_issues_a_new_key_and_ends_the_old_one_after_its_grace(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    old = (await keys_command(gateway.database_url, capsys, "create", "rotating")).strip()
    new = (await keys_command(gateway.database_url, capsys, "rotate", "rotating", "--grace-seconds", "0")).strip()
    assert new.startswith("thk_") and new != old
    await gateway.catch_up()
    assert await chat_status(gateway, new) == 200
    assert await chat_status(gateway, old) == 401


async def test_creating_a_key_twice_is_refused_with_exit_code_2(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKENHUB_DATABASE_URL", gateway.database_url)
    assert await asyncio.to_thread(cli.main, ["keys", "create", "twice"]) == 0
    assert await asyncio.to_thread(cli.main, ["keys", "create", "twice"]) == 2
    assert "already exists" in capsys.readouterr().err
