"""TokenHub on the test control plane: Postgres, the operator and a gateway as real processes.

The operator runs as the ``operator`` user, bound only to the ClusterRole shipped in ``k8s/operator/rbac.yaml``,
so the tests prove that role is enough - and fail when it is not. The upstream is ``bench/mock_upstream.py``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg

from e2e.controlplane.cluster import Cluster
from gateway.store import embedded

ROOT = pathlib.Path(__file__).resolve().parents[1]
VAULT_PASSWORD = "e2e vault password, long enough"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, describe: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{describe()}")


@dataclasses.dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log_path: pathlib.Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn(argv: list[str], env: dict[str, str], log_path: pathlib.Path) -> Process:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)
    return Process(proc, log_path)


@dataclasses.dataclass
class Stack:
    cluster: Cluster
    database_url: str
    gateway_url: str
    upstream_url: str
    operator: Process
    gateway: Process
    workdir: pathlib.Path

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        return self.cluster.kubectl(*args, stdin=stdin, check=check).stdout

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def revision(self) -> int:
        return int(httpx.get(f"{self.gateway_url}/readyz").json()["config_revision"])

    def start_operator(self, priority: int, name: str) -> Process:
        return spawn(
            [sys.executable, "-m", "tokenhub_operator"],
            operator_env(self.cluster, self.database_url, priority),
            self.workdir / f"{name}.log",
        )


def operator_env(cluster: Cluster, database_url: str, priority: int) -> dict[str, str]:
    return {
        "KUBECONFIG": str(cluster.kubeconfig("operator")),
        "TOKENHUB_DATABASE_URL": database_url,
        "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD,
        "TOKENHUB_OPERATOR_PRIORITY": str(priority),
        "TOKENHUB_RETRY_DELAY_SECONDS": "2",
        "TOKENHUB_PROVIDER_ALLOW": "127.0.0.0/8,::1",  # the fake upstreams listen on loopback
    }


def install(cluster: Cluster) -> None:
    """CRDs, peering and the operator's ClusterRole, bound to the ``operator`` user and nothing more."""
    cluster.kubectl("apply", "-f", str(ROOT / "crds"))
    cluster.kubectl("apply", "-f", str(ROOT / "k8s" / "operator" / "peering.yaml"), check=False)
    for crd in ("providers", "models", "routingpolicies", "apikeys"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}.tokenhub.io", "--timeout=30s")
    cluster.kubectl("wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev", "--timeout=30s")
    cluster.kubectl("apply", "-f", str(ROOT / "k8s" / "operator" / "peering.yaml"))
    cluster.kubectl("create", "namespace", "tokenhub-system", check=False)
    cluster.kubectl("apply", "-f", str(ROOT / "k8s" / "operator" / "rbac.yaml"))
    cluster.kubectl(
        "create",
        "clusterrolebinding",
        "tokenhub-operator-e2e-user",
        "--clusterrole=tokenhub-operator",
        "--user=operator",
        check=False,
    )


def start(cluster: Cluster, workdir: pathlib.Path) -> Iterator[Stack]:
    install(cluster)
    pg = embedded.start(workdir / "pg")
    upstream_port, gateway_port = free_port(), free_port()
    processes: list[Process] = []
    try:
        mock = [sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(upstream_port)]
        processes.append(spawn([*mock, "--stream-chunks", "3"], {}, workdir / "upstream.log"))
        operator = spawn(
            [sys.executable, "-m", "tokenhub_operator"], operator_env(cluster, pg.url, 100), workdir / "operator.log"
        )
        processes.append(operator)
        wait_until(lambda: _has_vault(pg.url), 60, "the operator to migrate the store", operator.log)
        gateway = spawn(
            [sys.executable, "-m", "gateway.cli", "serve"],
            {
                "TOKENHUB_DATABASE_URL": pg.url,
                "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD,
                "TOKENHUB_PORT": str(gateway_port),
                "TOKENHUB_CONFIG_POLL_SECONDS": "0.5",
                "TOKENHUB_PROVIDER_ALLOW": "127.0.0.0/8,::1",  # the fake upstreams listen on loopback
            },
            workdir / "gateway.log",
        )
        processes.append(gateway)
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_until(lambda: _ready(gateway_url), 60, "the gateway to be ready", gateway.log)
        yield Stack(cluster, pg.url, gateway_url, f"http://127.0.0.1:{upstream_port}/v1", operator, gateway, workdir)
    finally:
        for process in reversed(processes):
            process.stop()
        pg.stop()


def _has_vault(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT to_regclass('vault') IS NOT NULL").fetchone()
            return row == (True,) and conn.execute("SELECT count(*) FROM vault").fetchone() == (1,)
    except psycopg.Error:
        return False


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
