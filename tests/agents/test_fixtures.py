"""The committed fixtures keep the requests' structure and hold none of the vendors' prose."""

from __future__ import annotations

import pathlib

import orjson
import pytest

from tests.agents import record, sanitize, script

pytestmark = pytest.mark.agents

REQUESTS = sorted(record.FIXTURES.glob("*/*/turn*-request*.json"))


def test_prose_becomes_a_placeholder_while_structure_and_our_own_text_stay() -> None:
    body = {
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"},
            {"type": "text", "text": "Be"},
        ],
        "messages": [{"role": "user", "content": "Please read NOTE-1 for me"}, {"role": "system", "content": "Rules"}],
        "tools": [
            {"name": "Bash", "input_schema": {"properties": {"description": {"type": "string", "description": "d"}}}}
        ],
    }
    assert sanitize.scrub(body, ("NOTE-1",)) == {
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"},
            {"type": "text", "text": "<vendor text, 2 chars>"},
        ],
        "messages": [
            {"role": "user", "content": "Please read NOTE-1 for me"},
            {"role": "system", "content": "<vendor text, 5 chars>"},
        ],
        "tools": [
            {
                "name": "Bash",
                "input_schema": {
                    "properties": {"description": {"type": "string", "description": "<vendor text, 1 chars>"}}
                },
            }
        ],
    }


def test_every_cli_and_variant_has_its_recorded_requests() -> None:
    variants = {path.parent.relative_to(record.FIXTURES).as_posix() for path in REQUESTS}
    assert variants == {
        "codex-0.171.0/unknown-model",
        "codex-0.171.0/known-model",
        "claude-2.1.332/default-model",
        "claude-2.1.332/older-model",
        "claude-2.1.332/unknown-model",
        "claude-2.1.332/no-experimental-betas",
    }


@pytest.mark.parametrize("path", REQUESTS, ids=lambda path: path.relative_to(record.FIXTURES).as_posix())
def test_a_committed_fixture_is_already_scrubbed(path: pathlib.Path) -> None:
    fixture = orjson.loads(path.read_bytes())
    assert sanitize.scrub(fixture["json"], record.OURS) == fixture["json"]
    assert not {"authorization", "x-api-key"} & {k for k, v in fixture["headers"].items() if v != "<redacted>"}


@pytest.mark.parametrize("path", REQUESTS, ids=lambda path: path.relative_to(record.FIXTURES).as_posix())
def test_the_capture_script_answers_each_recorded_request_as_it_did_when_recording(path: pathlib.Path) -> None:
    body = orjson.loads(path.read_bytes())["json"]
    reply = script.codex_reply(body) if path.parts[-3].startswith("codex") else script.claude_reply(body)
    expected = {
        "turn1-request1.json": (
            script.ToolCall("exec_command", {"cmd": script.COMMAND})
            if path.parts[-3].startswith("codex")
            else script.ToolCall("Bash", {"command": script.COMMAND, "description": script.BASH_DESCRIPTION})
        ),
        "turn1-request2.json": script.Text(script.final_text(record.NOTE)),
        "turn2-request1.json": script.Text(script.PLAIN_TEXT),
    }
    assert reply == expected[path.name]
