"""Codex and Claude Code, as installed from npm, finish a turn with a shell tool round trip against a local server.

Each run happens in a fresh loopback-only network namespace (`netns`), with the capture server inside it. The
final text each CLI prints quotes a token that only the tool's output held, so a pass means the CLI ran the
command and sent its output back in the form asserted below.
"""

from __future__ import annotations

import pathlib
import socket
import subprocess
import sys
from typing import Any

import orjson
import pytest

from tests.agents import clis, netns, script

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

TURN_SECONDS = 90.0


def _completed(turn: dict[str, Any]) -> None:
    assert not turn["timed_out"], f"no exit within {TURN_SECONDS}s:\n{turn['stderr']}"
    assert turn["returncode"] == 0, turn["stderr"]


@pytest.mark.parametrize("cli", ["codex", "claude"])
def test_a_turn_with_a_tool_round_trip_completes(
    cli: str, agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path
) -> None:
    note = "NOTE-5e1f0c2a"
    result = netns.run_driver(cli, agent_clis[cli].binary, tmp_path, note, timeout=TURN_SECONDS)

    [turn] = result["turns"]
    _completed(turn)
    assert clis.final_text(cli, turn["stdout"]) == script.final_text(note)
    path = "/v1/responses" if cli == "codex" else "/v1/messages"
    assert [(r["method"], r["path"]) for r in turn["requests"]] == [("POST", path), ("POST", path)]
    assert all(r["json"]["stream"] is True for r in turn["requests"])


def test_codex_returns_the_call_and_its_output_with_the_reasoning_item(
    agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path
) -> None:
    note = "NOTE-0b7d33e1"
    result = netns.run_driver("codex", agent_clis["codex"].binary, tmp_path, note, timeout=TURN_SECONDS)

    [turn] = result["turns"]
    _completed(turn)
    first, second = (request["json"] for request in turn["requests"])
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert "previous_response_id" not in second, "Codex resends the whole conversation instead"
    reasoning, call, output = second["input"][-3:]
    assert reasoning["type"] == "reasoning" and reasoning["id"] == "rs_resp_0001"
    assert reasoning["encrypted_content"] == "gAAAAB-capture-opaque-reasoning-0001"
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    assert orjson.loads(call["arguments"]) == {"cmd": script.COMMAND}
    assert output["type"] == "function_call_output" and output["call_id"] == call["call_id"]
    assert note in output["output"]
    assert second["input"][: len(first["input"])] == first["input"]


def test_claude_code_returns_the_thinking_signature_and_the_tool_result(
    agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path
) -> None:
    note = "NOTE-9a4c6d10"
    result = netns.run_driver("claude", agent_clis["claude"].binary, tmp_path, note, timeout=TURN_SECONDS)

    [turn] = result["turns"]
    _completed(turn)
    first, second = turn["requests"]
    assert first["query"] == {"beta": "true"}
    assert "system" in [message["role"] for message in first["json"]["messages"]]
    assert first["json"]["thinking"]["type"] == "adaptive"
    assistant, user = second["json"]["messages"][-2:]
    thinking, tool_use = assistant["content"]
    assert thinking == {"type": "thinking", "thinking": "", "signature": "capture-opaque-thinking-signature-0001"}
    assert tool_use["name"] == "Bash" and tool_use["input"]["command"] == script.COMMAND
    [tool_result] = user["content"]
    assert tool_result["type"] == "tool_result" and tool_result["tool_use_id"] == tool_use["id"]
    assert note in tool_result["content"]


@pytest.mark.parametrize("cli", ["codex", "claude"])
def test_a_resumed_session_resends_the_whole_conversation(
    cli: str, agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path
) -> None:
    note = "NOTE-77e20f4b"
    result = netns.run_driver(cli, agent_clis[cli].binary, tmp_path, note, timeout=TURN_SECONDS, follow_up=True)

    first, second = result["turns"]
    _completed(first)
    _completed(second)
    assert clis.final_text(cli, second["stdout"]) == script.PLAIN_TEXT
    [follow_up] = second["requests"]
    history = follow_up["json"]["input" if cli == "codex" else "messages"]
    assert script.final_text(note) in orjson.dumps(history).decode()
    assert clis.FOLLOW_UP in orjson.dumps(history[-1]).decode()


def test_the_driver_refuses_to_run_outside_a_private_network_namespace(tmp_path: pathlib.Path) -> None:
    if [name for _, name in socket.if_nameindex()] == ["lo"]:
        pytest.skip("this host itself has only loopback, so any namespace passes the driver's check")
    command = [sys.executable, "-m", "tests.agents.driver", "--cli=codex", "--binary=/bin/false"]
    command += [f"--root={tmp_path}", "--note=NOTE-00000000", f"--out={tmp_path / 'result.json'}"]
    done = subprocess.run(command, cwd=netns.REPO, capture_output=True, text=True, timeout=30, check=False)

    assert done.returncode == 2
    assert "only 'lo' is allowed" in done.stderr
    assert not (tmp_path / "result.json").exists()
