"""Codex and Claude Code, as installed from npm, finish a turn with a tool round trip through TokenHub.

The gateway runs in the same loopback-only namespace as the CLI, in front of the capture server playing the
upstream of each provider type. Codex speaks the Responses API: natively to an OpenAI provider, translated to Chat
Completions for vLLM and to Messages for Anthropic. Claude Code speaks Messages: passed through to Anthropic,
translated to Chat Completions for OpenAI and vLLM. The final text quotes a token only the tool's output held,
and the request log shows both model turns with their tokens and exact cost.
"""

from __future__ import annotations

import pathlib
from decimal import Decimal

import pytest

from tests.agents import clis, gateway_stage, netns, script

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

TURN_SECONDS = 90.0
UPSTREAM_PATHS = {
    ("codex", "openai"): "/v1/responses",
    ("codex", "vllm"): "/v1/chat/completions",
    ("codex", "anthropic"): "/v1/messages",
    ("claude", "openai"): "/v1/chat/completions",
    ("claude", "vllm"): "/v1/chat/completions",
    ("claude", "anthropic"): "/v1/messages",
}
LOGGED_ENDPOINT = {"codex": "responses", "claude": "messages"}


@pytest.mark.parametrize(("cli", "provider_type"), sorted(UPSTREAM_PATHS))
def test_the_cli_completes_a_tool_round_trip_through_the_gateway(
    cli: str,
    provider_type: str,
    agent_clis: dict[str, clis.Installed],
    tmp_path: pathlib.Path,
    database_url: str,
) -> None:
    note = "NOTE-3c8e51d7"
    result = netns.run_driver(
        cli,
        agent_clis[cli].binary,
        tmp_path,
        note,
        timeout=TURN_SECONDS,
        model=gateway_stage.MODEL,
        gateway=provider_type,
        database_url=database_url,
    )

    [turn] = result["turns"]
    assert not turn["timed_out"], f"no exit within {TURN_SECONDS}s:\n{turn['stderr']}"
    assert turn["returncode"] == 0, turn["stderr"] + turn["stdout"]
    assert clis.final_text(cli, turn["stdout"]) == script.final_text(note)
    path = UPSTREAM_PATHS[cli, provider_type]
    assert [(r["method"], r["path"]) for r in turn["requests"]] == [("POST", path), ("POST", path)]
    rows = result["request_log"]
    assert len(rows) == 2, rows
    input_price, output_price = gateway_stage.PRICES
    for row in rows:
        assert (row["endpoint"], row["status"], row["model"], row["provider"], row["stream"]) == (
            LOGGED_ENDPOINT[cli],
            200,
            gateway_stage.MODEL,
            "upstream",
            True,
        )
        assert (row["input_tokens"], row["output_tokens"]) == (10, 5)
        assert Decimal(row["cost_usd"]) == (input_price * 10 + output_price * 5) / 1000


@pytest.mark.parametrize("provider_type", ["vllm", "anthropic"])
def test_codex_with_a_model_it_knows_reaches_a_translated_upstream_with_its_custom_tool(
    provider_type: str, agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path, database_url: str
) -> None:
    """For a model name it knows, Codex offers `apply_patch` as a custom (free-form) tool and the hosted
    `web_search` and `tool_search`: the translated upstream gets `apply_patch` as a plain tool and no hosted one."""
    note = "NOTE-71d0a9e4"
    result = netns.run_driver(
        "codex",
        agent_clis["codex"].binary,
        tmp_path,
        note,
        timeout=TURN_SECONDS,
        model=gateway_stage.KNOWN_MODEL,
        gateway=provider_type,
        database_url=database_url,
    )

    [turn] = result["turns"]
    assert turn["returncode"] == 0, turn["stderr"]
    assert turn["stdout"].strip() == script.final_text(note)
    first = turn["requests"][0]["json"]
    if provider_type == "vllm":
        offered = {tool["function"]["name"]: tool["type"] for tool in first["tools"]}
        assert set(offered.values()) == {"function"}
    else:
        offered = {tool["name"]: tool.get("type", "custom") for tool in first["tools"]}
    assert "apply_patch" in offered and "web_search" not in offered and "tool_search" not in offered
    assert [row["status"] for row in result["request_log"]] == [200, 200]
