"""A real etcd + kube-apiserver pair on loopback ports, in a temporary directory, for end-to-end tests.

Like controller-runtime's envtest there is no controller-manager, scheduler or kubelet: objects are stored,
validated (OpenAPI, CEL, admission) and authorised (RBAC), but pods never run, ownerReference garbage is not
collected and deleted namespaces stay Terminating. Users are static tokens fixed at start (the apiserver reads
--token-auth-file once), so the cluster is started with every identity a test run will need.
"""

from __future__ import annotations

import datetime
import os
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from e2e.controlplane import commands, credentials, kubeconfig, processes
from e2e.controlplane.binaries import Binaries

DEFAULT_USERS = (
    credentials.User("admin", ("system:masters",)),
    credentials.User("operator"),
    credentials.User("viewer"),
)

_SERVICE_CIDR = "10.0.0.0/24"


class Cluster:
    """Start with `start()` or `with Cluster(...) as cluster:`; `stop()` is idempotent and leaves no process."""

    def __init__(
        self,
        binaries: Binaries,
        workdir: Path,
        users: Sequence[credentials.User] = DEFAULT_USERS,
        start_timeout: float = 45.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if len({user.name for user in users}) != len(users):
            raise ValueError("user names must be unique")
        self._binaries = binaries
        self._workdir = workdir
        self._users = tuple(users)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._tokens: dict[str, str] = {}
        self._kubeconfigs: dict[str, Path] = {}
        self._processes: list[subprocess.Popen[bytes]] = []
        self._server = ""
        self._ca_file = workdir / "pki" / "ca.crt"
        self.startup_seconds = 0.0

    @property
    def server(self) -> str:
        """The apiserver URL, https://127.0.0.1:<port>."""
        return self._server

    @property
    def ca_file(self) -> Path:
        """The CA that signed the apiserver's serving certificate."""
        return self._ca_file

    @property
    def workdir(self) -> Path:
        return self._workdir

    @property
    def users(self) -> tuple[credentials.User, ...]:
        return self._users

    def token(self, user: str) -> str:
        return self._tokens[user]

    def kubeconfig(self, user: str) -> Path:
        return self._kubeconfigs[user]

    def start(self) -> None:
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _start(self) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "home").mkdir(exist_ok=True)
        pki = credentials.write_pki(self._workdir / "pki", datetime.datetime.now(datetime.UTC))
        tokens = credentials.new_tokens(self._users)
        token_file = self._workdir / "tokens.csv"
        token_file.write_text(credentials.token_file(tokens))
        token_file.chmod(0o600)
        self._tokens = {user.name: token for user, token in tokens.items()}

        etcd_url = self._start_etcd()
        self._start_apiserver(pki, token_file, etcd_url)
        for user in self._users:
            path = self._workdir / f"{user.name}.kubeconfig"
            self._kubeconfigs[user.name] = kubeconfig.write(
                path, self._server, pki.ca_cert, user.name, self._tokens[user.name]
            )

    def _start_etcd(self) -> str:
        client_url = f"http://127.0.0.1:{processes.free_port()}"
        peer_url = f"http://127.0.0.1:{processes.free_port()}"
        log = self._workdir / "etcd.log"
        argv = [
            str(self._binaries.etcd),
            "--name=e2e",
            f"--data-dir={self._workdir / 'etcd-data'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=e2e={peer_url}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]
        process = processes.spawn(argv, log)
        self._processes.append(process)
        processes.wait_ready(
            "etcd", process, log, lambda: processes.http_ok(f"{client_url}/health"), self._start_timeout
        )
        return client_url

    def _start_apiserver(self, pki: credentials.Pki, token_file: Path, etcd_url: str) -> None:
        port = processes.free_port()
        self._server = f"https://127.0.0.1:{port}"
        log = self._workdir / "kube-apiserver.log"
        argv = [
            str(self._binaries.kube_apiserver),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            # Without a default route the apiserver cannot pick an address to advertise on its own.
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self._workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--token-auth-file={token_file}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={self._server}",
            f"--service-account-key-file={pki.service_account_public}",
            f"--service-account-signing-key-file={pki.service_account_private}",
            f"--service-cluster-ip-range={_SERVICE_CIDR}",
            "--allow-privileged=true",
            # No controller-manager runs to create the default ServiceAccount this plugin waits for.
            "--disable-admission-plugins=ServiceAccount",
            "--profiling=false",
        ]
        process = processes.spawn(argv, log)
        self._processes.append(process)
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        probe_token = self._tokens[self._users[0].name]
        processes.wait_ready(
            "kube-apiserver",
            process,
            log,
            lambda: processes.http_ok(f"{self._server}/readyz", context, probe_token),
            self._start_timeout,
        )

    def stop(self) -> None:
        """Stop the apiserver before etcd, each with SIGTERM then SIGKILL after stop_timeout."""
        while self._processes:
            processes.stop(self._processes.pop(), self._stop_timeout)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def tool_env(self) -> dict[str, str]:
        """Environment for kubectl and helm: a private HOME, and no KUBECONFIG or HELM_* from the caller."""
        env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG" and not key.startswith("HELM_")}
        env["HOME"] = str(self._workdir / "home")
        return env

    def kubectl(
        self, *args: str, user: str = "admin", stdin: str | None = None, check: bool = True, timeout: float = 30.0
    ) -> commands.Result:
        """Run kubectl as `user` against this cluster."""
        argv = [str(self._binaries.kubectl), f"--kubeconfig={self.kubeconfig(user)}", *args]
        return commands.run(argv, self.tool_env(), stdin=stdin, timeout=timeout, check=check)

    def helm(
        self, *args: str, user: str = "admin", stdin: str | None = None, check: bool = True, timeout: float = 30.0
    ) -> commands.Result:
        """Run helm as `user`; offline commands such as `helm template` ignore the cluster."""
        argv = [str(self._binaries.helm), f"--kubeconfig={self.kubeconfig(user)}", *args]
        return commands.run(argv, self.tool_env(), stdin=stdin, timeout=timeout, check=check)
