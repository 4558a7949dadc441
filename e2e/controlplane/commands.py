"""Run kubectl, helm and friends to completion and return their output; a non-zero exit raises by default.

Tests mostly assert on what the tools print (an apiserver rejection message, a rendered manifest), so the
result keeps stdout and stderr apart and CommandFailed carries both.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from e2e.controlplane import errors


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 30.0,
    check: bool = True,
) -> Result:
    completed = subprocess.run(
        list(argv), input=stdin, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    result = Result(tuple(argv), completed.returncode, completed.stdout, completed.stderr)
    if check and result.returncode != 0:
        raise errors.CommandFailed(result.argv, result.returncode, result.stdout, result.stderr)
    return result
