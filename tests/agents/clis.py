"""How each agent CLI is run headless against a local endpoint: its private home, config files, env and argv.

Every vendor opt-out the CLIs document is set (telemetry, error reports, update checks, non-essential traffic),
and each run gets a fresh HOME so no user config or login leaks in. These runs still happen only inside a
network namespace with nothing but loopback (see `netns`): the opt-outs are a courtesy, the namespace the guard.
"""

from __future__ import annotations

import pathlib
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

CODEX_MODEL = "tokenhub-test"
API_KEY = "sk-capture-0123456789abcdef"  # what the CLIs present; never a real credential
PROMPT = "Read note.txt in the current directory with the shell and tell me what the note says."
FOLLOW_UP = "Thanks. Reply with one short sentence."


@dataclass(frozen=True, slots=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]
    cwd: pathlib.Path


def _base_env(home: pathlib.Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }


def codex_config(base_url: str, model: str = CODEX_MODEL) -> str:
    """A private CODEX_HOME/config.toml: one custom Responses provider, no approvals, every opt-out set.

    `features.plugins = false` stops the start-up `git ls-remote` of the vendor's plugin repository (and its DNS
    lookups); the `web_search` built-in tool stays on, as users have it, so the fixtures show it.
    """
    return f"""\
model = "{model}"
model_provider = "capture"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.capture]
name = "Capture"
base_url = "{base_url}/v1"
env_key = "CAPTURE_API_KEY"
wire_api = "responses"

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"

[history]
persistence = "none"

[features]
plugins = false
"""


def codex(
    binary: pathlib.Path, base_url: str, root: pathlib.Path, model: str = CODEX_MODEL, follow_up: bool = False
) -> list[Invocation]:
    """`codex exec` for the first turn; `codex exec resume --last` continues that session for a second one."""
    home, work = root / "home", root / "work"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(codex_config(base_url, model))
    env = {**_base_env(home), "CODEX_HOME": str(codex_home), "CAPTURE_API_KEY": API_KEY}
    flags = ["--strict-config", "--skip-git-repo-check"]
    first = [str(binary), "exec", *flags, "--color", "never", "-C", str(work), PROMPT]
    second = [str(binary), "exec", "resume", "--last", *flags, FOLLOW_UP]
    return [Invocation(argv, env, work) for argv in ([first, second] if follow_up else [first])]


CLAUDE_OPT_OUTS: Mapping[str, str] = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_BUG_COMMAND": "1",
}


def claude(
    binary: pathlib.Path, base_url: str, root: pathlib.Path, model: str | None = None, follow_up: bool = False
) -> list[Invocation]:
    """`claude -p` for the first turn, `claude -p --continue` for a second one in the same directory.

    Claude Code uses its default model unless `model` is given; the model decides the thinking and effort fields.
    """
    home, work = root / "home", root / "work"
    home.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = {**_base_env(home), **CLAUDE_OPT_OUTS, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": API_KEY}
    flags = ["--output-format", "json", "--allowedTools", "Bash(cat note.txt)", *(["--model", model] if model else [])]
    first = [str(binary), "-p", PROMPT, *flags]
    second = [str(binary), "-p", FOLLOW_UP, "--continue", *flags]
    return [Invocation(argv, env, work) for argv in ([first, second] if follow_up else [first])]


def final_text(cli: str, stdout: str) -> str:
    """The final answer a CLI printed: Codex exec prints it alone, Claude Code's JSON result holds it in `result`."""
    if cli == "codex":
        return stdout.strip()
    result: dict[str, Any] = orjson.loads(stdout)
    if result.get("is_error") is not False:
        raise AssertionError(f"Claude Code reported an error: {result}")
    return str(result["result"])


INSTALL_SCRIPT = pathlib.Path(__file__).with_name("install.sh")


class InstallFailed(RuntimeError):
    """install.sh failed (npm missing, the registry unreachable, a package without its binary)."""


@dataclass(frozen=True, slots=True)
class Installed:
    version: str
    binary: pathlib.Path


def install() -> dict[str, Installed]:
    """Runs install.sh (a no-op when the pinned versions are cached); returns each CLI's version and executable."""
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise InstallFailed(f"{INSTALL_SCRIPT} exited with {done.returncode}:\n{done.stderr}")
    fields = (line.split(" ", 2) for line in done.stdout.splitlines())
    return {name: Installed(version, pathlib.Path(path)) for name, version, path in fields}
