"""The requests Claude Code 2.1.332 sent, as recorded by tests/agents (vendor prose replaced, structure kept).

Read from ``tests/agents/fixtures/claude-2.1.332``, where ``python -m tests.agents.record`` writes them.
"""

from __future__ import annotations

import pathlib
from typing import Any

import orjson

VERSION = "claude-2.1.332"
_TESTS = pathlib.Path(__file__).parents[4]
VARIANTS = ("default-model", "unknown-model", "older-model", "no-experimental-betas")
TURNS = ("turn1-request1", "turn1-request2", "turn2-request1")


def folder() -> pathlib.Path:
    return _TESTS / "agents" / "fixtures" / VERSION


def names() -> list[str]:
    """``<variant>/<turn>`` of every recorded request: all variants, all turns."""
    return [f"{variant}/{turn}" for variant in VARIANTS for turn in TURNS]


def raw_body(name: str) -> bytes:
    """The request body exactly as a client serialises it (orjson, key order as recorded)."""
    return orjson.dumps(recorded(name)["json"])


def recorded(name: str) -> dict[str, Any]:
    value = orjson.loads((folder() / f"{name}.json").read_bytes())
    assert isinstance(value, dict)
    return value
