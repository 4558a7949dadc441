"""Starts the driver in a new network namespace that has only loopback, and reads back its result.

Root gets `unshare --net`; anyone else `unshare --user --map-root-user --net`, which needs unprivileged user
namespaces. Either way the CLI and the capture server share that namespace's own loopback, and nothing the CLI
tries can leave the machine.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import orjson

REPO = pathlib.Path(__file__).resolve().parents[2]


class DriverFailed(RuntimeError):
    """The namespace could not be made, or the driver in it failed before writing its result."""


def unshare_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise DriverFailed("unshare (util-linux) is not installed: the agent CLIs only run in a private netns")
    if os.geteuid() == 0:
        return [unshare, "--net", "--fork"]
    return [unshare, "--user", "--map-root-user", "--net", "--fork"]


def run_driver(
    cli: str,
    binary: pathlib.Path,
    root: pathlib.Path,
    note: str,
    *,
    timeout: float = 120.0,
    model: str | None = None,
    follow_up: bool = False,
    env: Mapping[str, str] | None = None,
    wrap: str = "",
    gateway: str | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Runs the CLI's turns in a fresh namespace; each turn's deadline is `timeout`, the whole run's a bit more.

    With ``gateway`` (a provider type), TokenHub on ``database_url`` stands between the CLI and the capture server.
    """
    root.mkdir(parents=True, exist_ok=True)
    out = root / "result.json"
    command = [
        *unshare_prefix(),
        sys.executable,
        "-m",
        "tests.agents.driver",
        f"--cli={cli}",
        f"--binary={binary}",
        f"--root={root}",
        f"--note={note}",
        f"--timeout={timeout}",
        f"--out={out}",
        *([f"--model={model}"] if model else []),
        *(["--follow-up"] if follow_up else []),
        *(f"--env={name}={value}" for name, value in (env or {}).items()),
        *([f"--wrap={wrap}"] if wrap else []),
        *([f"--gateway={gateway}", f"--database-url={database_url}"] if gateway else []),
    ]
    turns = 2 if follow_up else 1
    done = subprocess.run(command, cwd=REPO, capture_output=True, timeout=turns * timeout + 30, check=False)
    if done.returncode != 0 or not out.exists():
        raise DriverFailed(f"the driver exited with {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    return result
