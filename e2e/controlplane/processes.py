"""Child processes of the control plane: spawn with a log file, poll until ready, stop without orphans.

Children start under util-linux `setpriv --pdeathsig KILL` when it exists (Debian: always), so a test run
killed outright still takes etcd and kube-apiserver down with it; setpriv execs, so the pid stays the child's.
Ports come from the kernel (bind to port 0); the short window before the child binds them again is accepted,
and a clash shows up as StartupFailed with the child's log.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from e2e.controlplane import errors


def _die_with_parent() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start argv with stdout and stderr appended to log_path."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [*_die_with_parent(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within timeout seconds; always reaps."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def http_ok(url: str, context: ssl.SSLContext | None = None, token: str | None = None) -> bool:
    """True when GET url answers 200; connection errors and other statuses are False."""
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2.0, context=context) as response:
            status: int = response.status
            return status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_ready(
    name: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    probe: Callable[[], bool],
    timeout: float,
    interval: float = 0.1,
) -> None:
    """Poll probe until it passes; StartupFailed with the log tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise errors.StartupFailed(f"{name} exited with {code} while starting; log tail:\n{log_tail(log_path)}")
        if probe():
            return
        if time.monotonic() > deadline:
            raise errors.StartupFailed(f"{name} not ready after {timeout:.0f} s; log tail:\n{log_tail(log_path)}")
        time.sleep(interval)
