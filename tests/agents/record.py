"""Re-records tests/agents/fixtures: what each pinned CLI sends on a turn with a tool round trip and a follow-up.

Run `python -m tests.agents.record` after changing a pinned version. Each CLI runs in its own loopback-only
namespace (see `netns`) against the capture server, once per model variant; every request becomes one JSON file
(`sanitize` replaces the vendors' prose), next to `invocation.json` saying how the CLI was started.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.agents import clis, netns, sanitize, script

FIXTURES = pathlib.Path(__file__).with_name("fixtures")
NOTE = "NOTE-0123abcd"


@dataclass(frozen=True, slots=True)
class Variant:
    cli: str
    name: str  # the fixture directory
    model: str | None  # None: the CLI's default
    env: Mapping[str, str] = field(default_factory=dict)


VARIANTS = (
    Variant("codex", "unknown-model", clis.CODEX_MODEL),  # a name Codex has no metadata for, like a gateway alias
    Variant("codex", "known-model", "gpt-5.5"),  # a name Codex knows, which selects its own model metadata
    Variant("claude", "default-model", None),
    Variant("claude", "older-model", "claude-sonnet-4-5"),  # budgeted thinking, fewer betas
    Variant("claude", "unknown-model", "tokenhub-test"),  # a name Claude Code has no metadata for
    Variant("claude", "no-experimental-betas", None, {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}),
)

OURS = (clis.PROMPT, clis.FOLLOW_UP, NOTE, script.PLAIN_TEXT, script.COMMAND, script.BASH_DESCRIPTION)


def _dump(path: pathlib.Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def _parsed(stdout: str) -> Any:
    """Claude Code's `--output-format json` result as JSON; Codex's plain final message as text."""
    try:
        return orjson.loads(stdout)
    except orjson.JSONDecodeError:
        return stdout


def record(variant: Variant, installed: clis.Installed, work: pathlib.Path) -> None:
    cli = variant.cli
    root = work / f"{cli}-{variant.name}"
    result = netns.run_driver(cli, installed.binary, root, NOTE, model=variant.model, follow_up=True, env=variant.env)
    replacements = {str(root): "<root>", str(installed.binary): f"<{cli}>", clis.API_KEY: "<api key>"}
    target = FIXTURES / f"{cli}-{installed.version}" / variant.name
    shutil.rmtree(target, ignore_errors=True)
    for number, turn in enumerate(result["turns"], start=1):
        if turn["returncode"] != 0 or turn["timed_out"]:
            raise SystemExit(f"{cli} {variant.name} turn {number} failed:\n{turn['stderr']}")
        for index, request in enumerate(turn["requests"], start=1):
            _dump(target / f"turn{number}-request{index}.json", sanitize.fixture(request, OURS, replacements))
    config = root / "home" / ".codex" / "config.toml"
    invocation = {
        "version": installed.version,
        "turns": [
            {"argv": turn["argv"], "env": turn["env"], "stdout": _parsed(turn["stdout"])} for turn in result["turns"]
        ],
        "config.toml": config.read_text() if config.exists() else None,
    }
    _dump(target / "invocation.json", sanitize.normalise(invocation, replacements))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["codex", "claude"], default=None)
    args = parser.parse_args()
    installed = clis.install()
    with tempfile.TemporaryDirectory(prefix="tokenhub-agents-", dir=pathlib.Path.home()) as work:
        for variant in VARIANTS:
            if args.only in (None, variant.cli):
                record(variant, installed[variant.cli], pathlib.Path(work))


if __name__ == "__main__":
    main()
