"""Codex, as installed from npm, finishes a turn with a tool round trip through TokenHub, for every provider type.

The gateway runs in the same loopback-only namespace as the CLI, in front of the capture server playing the
upstream: natively for an OpenAI provider (Responses API), translated for a vLLM provider (Chat Completions) and
an Anthropic provider (Messages). The final text quotes a token only the tool's output held, and the request log
shows both model turns with their tokens and exact cost.
"""

from __future__ import annotations

import pathlib
from decimal import Decimal

import pytest

from tests.agents import clis, gateway_stage, netns, script

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

TURN_SECONDS = 90.0
UPSTREAM_PATHS = {"openai": "/v1/responses", "vllm": "/v1/chat/completions", "anthropic": "/v1/messages"}


@pytest.mark.parametrize("provider_type", gateway_stage.PROVIDER_TYPES)
def test_codex_completes_a_tool_round_trip_through_the_gateway(
    provider_type: str, agent_clis: dict[str, clis.Installed], tmp_path: pathlib.Path, database_url: str
) -> None:
    note = "NOTE-3c8e51d7"
    result = netns.run_driver(
        "codex",
        agent_clis["codex"].binary,
        tmp_path,
        note,
        timeout=TURN_SECONDS,
        model=gateway_stage.MODEL,
        gateway=provider_type,
        database_url=database_url,
    )

    [turn] = result["turns"]
    assert not turn["timed_out"], f"no exit within {TURN_SECONDS}s:\n{turn['stderr']}"
    assert turn["returncode"] == 0, turn["stderr"]
    assert turn["stdout"].strip() == script.final_text(note)
    path = UPSTREAM_PATHS[provider_type]
    assert [(r["method"], r["path"]) for r in turn["requests"]] == [("POST", path), ("POST", path)]
    rows = result["request_log"]
    assert len(rows) == 2, rows
    input_price, output_price = gateway_stage.PRICES
    for row in rows:
        assert (row["endpoint"], row["status"], row["model"], row["provider"], row["stream"]) == (
            "responses",
            200,
            gateway_stage.MODEL,
            "upstream",
            True,
        )
        assert (row["input_tokens"], row["output_tokens"]) == (10, 5)
        assert Decimal(row["cost_usd"]) == (input_price * 10 + output_price * 5) / 1000
