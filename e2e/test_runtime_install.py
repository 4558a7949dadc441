"""The images' assumptions, without a container engine: the wheel with runtime extras only, run as the chart runs it.

Dockerfile.gateway and Dockerfile.operator install the wheel (no `standalone` extra, so no embedded Postgres)
into a virtualenv that the process cannot write to, run it as a non-root user with a read-only working
directory, and give it only the chart's environment with an emptyDir at TOKENHUB_DATA_DIR. This test does the
same on the host: it builds the wheel, installs it into a clean venv, renders the chart and runs the migration
Job's, the gateway's and the operator's containers from their Pod templates against a real Postgres.
"""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from e2e import chart, helm_stack
from e2e.chart import REQUIRED, Helm, named
from e2e.controlplane import binaries
from e2e.stack import free_port, wait_until
from gateway.store import embedded

# The embedded Postgres runs as this system user and keeps its socket in a folder only it may enter, so the
# processes run as that same non-root user (the images use UID 10001; what matters is "not root, nothing
# writable but the data dir").
RUN_AS = "pgserver"
# The distribution's interpreter, as in the images (the development one lives under /root, closed to others).
SYSTEM_PYTHON = "/usr/bin/python3.11"
VAULT_PASSWORD = "runtime-install vault password"


def uv(*args: str, cwd: pathlib.Path | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "uv", *args], check=True, capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="module")
def workdir() -> Iterator[pathlib.Path]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="thrt-"))
    root.chmod(0o755)  # readable (not writable) by the non-root user, like an image's /opt
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def runtime_bin(workdir: pathlib.Path) -> pathlib.Path:
    """A clean venv holding the wheel with the `operator` extra only: what the two images hold together."""
    dist = workdir / "dist"
    uv("build", "--quiet", "--out-dir", str(dist), str(chart.ROOT))
    (wheel,) = dist.glob("tokenhub-*.whl")
    venv = workdir / "venv"
    uv("venv", "--quiet", "--python", SYSTEM_PYTHON, str(venv))
    uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), f"{wheel}[operator]")
    return venv / "bin"


@pytest.fixture(scope="module")
def database_url(workdir: pathlib.Path) -> Iterator[str]:
    pg = embedded.start(workdir / "pg")
    try:
        yield pg.url
    finally:
        pg.stop()


def run_as_user(argv: list[str], env: dict[str, str], cwd: pathlib.Path) -> list[str]:
    """``argv`` under ``setpriv`` as RUN_AS, with no supplementary groups and no way to regain privileges."""
    user = pwd.getpwnam(RUN_AS)
    return [
        "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--no-new-privs",
        "env", "-i", *(f"{k}={v}" for k, v in sorted(env.items())), *argv,
    ]  # fmt: skip


def test_the_wheel_without_dev_extras_migrates_serves_and_checks_the_operator_as_the_chart_configures_it(
    control_plane_binaries: binaries.Binaries,
    runtime_bin: pathlib.Path,
    database_url: str,
    workdir: pathlib.Path,
) -> None:
    python = runtime_bin / "python"
    probe = subprocess.run([str(python), "-c", "import pgserver"], capture_output=True, text=True, check=False)
    assert probe.returncode != 0, "the runtime install must not carry the embedded Postgres"
    for absent in ("pytest", "httpx", "openai"):  # aiohttp stays: Kopf needs it
        assert subprocess.run([str(python), "-c", f"import {absent}"], capture_output=True, check=False).returncode

    standalone = subprocess.run(
        [str(runtime_bin / "tokenhub"), "serve"],
        env={"PATH": "/usr/bin:/bin", "TOKENHUB_DATA_DIR": str(workdir / "standalone")},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert standalone.returncode == 1
    assert "pip install 'tokenhub[standalone]'" in standalone.stderr, standalone.stderr

    docs = Helm(control_plane_binaries.helm).template(REQUIRED)
    secrets = {"tokenhub-db": {"url": database_url}, "tokenhub-vault": {"password": VAULT_PASSWORD}}
    sources = helm_stack.rendered_sources(docs, secrets)
    readonly = workdir / "readonly-cwd"
    readonly.mkdir(mode=0o555)
    base = {"PATH": f"{runtime_bin}:/usr/bin:/bin", "HOME": str(readonly)}

    job = named(docs, "Job", "tokenhub-migrate")
    container = helm_stack.only_container(job)
    env = {**base, **helm_stack.resolve_env(container, sources)}
    env["TOKENHUB_DATA_DIR"] = str(readonly)  # the Job writes nothing: give it nowhere to write
    migrated = subprocess.run(
        run_as_user(helm_stack.argv(container, runtime_bin), env, readonly),
        cwd=readonly, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_init.sql" in migrated.stdout

    gateway = named(docs, "Deployment", "tokenhub-gateway")
    container = helm_stack.only_container(gateway)
    env = {**base, **helm_stack.resolve_env(container, sources)}
    assert env["TOKENHUB_MIGRATE"] == "check"
    assert helm_stack.mount_path(gateway, container, env["TOKENHUB_DATA_DIR"])
    data = workdir / "emptydir"  # stands in for the emptyDir at TOKENHUB_DATA_DIR
    data.mkdir()
    user = pwd.getpwnam(RUN_AS)
    os.chown(data, user.pw_uid, user.pw_gid)
    port = free_port()
    env |= {"TOKENHUB_DATA_DIR": str(data), "TOKENHUB_HOST": "127.0.0.1", "TOKENHUB_PORT": str(port)}
    assert env["TOKENHUB_METRICS_PORT"] == "9090"  # the container port the ServiceMonitor scrapes
    metrics_port = free_port()
    env["TOKENHUB_METRICS_PORT"] = str(metrics_port)
    log_path = workdir / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            run_as_user(helm_stack.argv(container, runtime_bin), env, readonly), cwd=readonly, stdout=log, stderr=log
        )
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert proc.poll() is None, log_path.read_text()
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 30, "the gateway from the runtime install to be ready", log_path.read_text)
        assert httpx.get(f"{url}/livez").json() == {"status": "ok"}
        assert "tokenhub_config_revision" in httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert httpx.get(f"{url}/metrics").status_code == 404, "metrics stay off the public Service's port"
        refused = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": []})
        assert refused.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log_path.read_text()
    assert list(readonly.iterdir()) == []

    operator = named(docs, "Deployment", "tokenhub-operator-0")
    container = helm_stack.only_container(operator)
    env = {**base, **helm_stack.resolve_env(container, sources)}
    checked = subprocess.run(
        run_as_user([*helm_stack.argv(container, runtime_bin), "check"], env, readonly),
        cwd=readonly, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "schema current" in checked.stdout
