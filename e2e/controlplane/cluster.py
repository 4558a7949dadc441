"""A real etcd + kube-apiserver pair on loopback ports, in a temporary directory, for end-to-end tests.

By default, like controller-runtime's envtest, nothing acts on the objects: they are stored, validated (OpenAPI,
CEL, admission) and authorised (RBAC), but pods never run. `start_workloads()` (or `workloads=True`) adds
kube-controller-manager, kube-scheduler and kwok with fake Nodes, so Deployments roll out, Pods are scheduled,
Running and Ready, Services get EndpointSlices and owned objects are garbage-collected. Users are static tokens
fixed at start (the apiserver reads --token-auth-file once), so every identity, the components' included, is
created then.
"""

from __future__ import annotations

import datetime
import functools
import os
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from e2e.controlplane import commands, components, credentials, errors, kubeconfig, kwok, processes, waiting
from e2e.controlplane.binaries import Binaries

DEFAULT_USERS = (
    credentials.User("admin", ("system:masters",)),
    credentials.User("operator"),
    credentials.User("viewer"),
)

# Identities of the workload components; the apiserver's bootstrap RBAC binds the first two, kwok.rbac() the third.
COMPONENT_USERS = (
    credentials.User(components.CONTROLLER_MANAGER_USER),
    credentials.User(components.SCHEDULER_USER),
    credentials.User(kwok.RBAC_USER),
)

SERVICE_CIDR = "10.0.0.0/24"


class Cluster:
    """Start with `start()` or `with Cluster(...) as cluster:`; `stop()` is idempotent and leaves no process."""

    def __init__(
        self,
        binaries: Binaries,
        workdir: Path,
        users: Sequence[credentials.User] = DEFAULT_USERS,
        start_timeout: float = 45.0,
        stop_timeout: float = 10.0,
        workloads: bool = False,
        nodes: int = 2,
    ) -> None:
        names = [user.name for user in (*users, *COMPONENT_USERS)]
        if len(set(names)) != len(names):
            raise ValueError(f"user names must be unique and not one of {[u.name for u in COMPONENT_USERS]}")
        if nodes < 1:
            raise ValueError("a cluster that runs workloads needs at least one node")
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
        self._pki: credentials.Pki | None = None
        self._workloads = workloads
        self._node_count = nodes
        self._node_names: tuple[str, ...] = ()
        self.startup_seconds = 0.0
        self.workloads_startup_seconds = 0.0

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

    @property
    def runs_workloads(self) -> bool:
        """True once controller-manager, scheduler and kwok run and the fake Nodes are Ready."""
        return bool(self._node_names)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Names of the fake Nodes kwok manages; empty until the workload components run."""
        return self._node_names

    def start(self) -> None:
        started = time.monotonic()
        try:
            self._start()
            if self._workloads:
                self.start_workloads()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def start_workloads(self) -> None:
        """Start controller-manager, scheduler and kwok, register the fake Nodes and wait until they are Ready.

        Idempotent; on failure every process of the cluster is stopped and StartupFailed carries the log tail.
        """
        if self.runs_workloads:
            return
        if self._pki is None:
            raise RuntimeError("start the cluster before its workload components")
        started = time.monotonic()
        try:
            self._start_workloads(self._pki)
        except BaseException:
            self.stop()
            raise
        self.workloads_startup_seconds = time.monotonic() - started

    def _start(self) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "home").mkdir(exist_ok=True)
        pki = credentials.write_pki(self._workdir / "pki", datetime.datetime.now(datetime.UTC))
        self._pki = pki
        tokens = credentials.new_tokens((*self._users, *COMPONENT_USERS))
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

    def _component_kubeconfig(self, pki: credentials.Pki, user: str) -> Path:
        directory = self._workdir / "components"
        directory.mkdir(exist_ok=True)
        path = directory / f"{user.replace(':', '-')}.kubeconfig"
        return kubeconfig.write(path, self._server, pki.ca_cert, user, self._tokens[user])

    def _spawn_component(
        self, name: str, argv: list[str], probe_url: str
    ) -> tuple[str, subprocess.Popen[bytes], Path, str]:
        log = self._workdir / f"{name}.log"
        process = processes.spawn(argv, log, self.tool_env())
        self._processes.append(process)
        return name, process, log, probe_url

    def _start_workloads(self, pki: credentials.Pki) -> None:
        kwok_config = self._workdir / "kwok-stages.yaml"
        kwok_config.write_text(kwok.config_yaml())
        self.kubectl("apply", "-f", "-", stdin=_as_list(kwok.rbac()))

        cm_port, scheduler_port, kwok_port = (processes.free_port() for _ in range(3))
        controller_manager = components.ControllerManager(
            binary=self._binaries.kube_controller_manager,
            kubeconfig=self._component_kubeconfig(pki, components.CONTROLLER_MANAGER_USER),
            port=cm_port,
            cert_dir=self._workdir / "controller-manager-certs",
            service_account_key=pki.service_account_private,
            root_ca=pki.ca_cert,
        )
        # All three start at once; each is probed in turn, so start-up costs the slowest, not the sum.
        started = [
            self._spawn_component(
                "kube-controller-manager",
                components.controller_manager_argv(controller_manager),
                f"https://127.0.0.1:{cm_port}/healthz",
            ),
            self._spawn_component(
                "kube-scheduler",
                components.scheduler_argv(
                    self._binaries.kube_scheduler,
                    self._component_kubeconfig(pki, components.SCHEDULER_USER),
                    scheduler_port,
                ),
                f"https://127.0.0.1:{scheduler_port}/readyz",
            ),
            self._spawn_component(
                "kwok",
                components.kwok_argv(
                    self._binaries.kwok,
                    self._component_kubeconfig(pki, kwok.RBAC_USER),
                    kwok_config,
                    kwok_port,
                    kwok.NODE_SELECTOR,
                    kwok.POD_CIDR,
                ),
                f"http://127.0.0.1:{kwok_port}/healthz",
            ),
        ]
        # The components serve HTTPS with certificates they generate for themselves; only liveness is read here.
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        for name, process, log, url in started:
            probe = functools.partial(processes.http_ok, url, unverified if url.startswith("https:") else None)
            processes.wait_ready(name, process, log, probe, self._start_timeout)

        names = tuple(kwok.node_name(index) for index in range(self._node_count))
        self.kubectl("apply", "-f", "-", stdin=_as_list([kwok.node(index) for index in range(self._node_count)]))
        try:
            self.kubectl(
                "wait",
                "--for=condition=Ready",
                f"--timeout={self._start_timeout:.0f}s",
                *(f"node/{n}" for n in names),
                timeout=self._start_timeout + 5,
            )
        except errors.CommandFailed as exc:
            kwok_log = self._workdir / "kwok.log"
            raise errors.StartupFailed(
                f"fake Nodes not Ready: {exc}; kwok log tail:\n{processes.log_tail(kwok_log)}"
            ) from exc
        waiting.until(
            lambda: None if any(self._node_taints(names)) else True,
            "the node lifecycle controller to lift the not-ready taint off the fake Nodes",
            timeout=self._start_timeout,
        )
        self._node_names = names

    def _node_taints(self, names: tuple[str, ...]) -> list[Any]:
        listed = self.get_json(*(f"node/{name}" for name in names))
        items = listed["items"] if listed.get("kind") == "List" else [listed]
        return [taint for item in items for taint in item["spec"].get("taints", [])]

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
            f"--service-cluster-ip-range={SERVICE_CIDR}",
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
        """Stop in reverse start order (workload components, apiserver, etcd): SIGTERM, SIGKILL after stop_timeout."""
        while self._processes:
            processes.stop(self._processes.pop(), self._stop_timeout)
        self._node_names = ()

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

    def get_json(self, *args: str, user: str = "admin", namespace: str | None = None) -> Any:
        """`kubectl get ARGS -o json`, parsed; a List for several objects or a selector."""
        scope = [f"--namespace={namespace}"] if namespace else []
        return orjson.loads(self.kubectl("get", *args, *scope, "-o", "json", user=user).stdout)

    def wait_rollout(self, deployment: str, namespace: str = "default", timeout: float = 60.0) -> None:
        """Block until the Deployment's rollout is complete (all replicas updated and available), else CommandFailed.

        Needs the workload components (`start_workloads()` or the `workload_cluster` fixture); without them no
        ReplicaSet is ever created and this waits out its timeout.
        """
        self.kubectl(
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--namespace={namespace}",
            f"--timeout={timeout:.0f}s",
            timeout=timeout + 10,
        )


def _as_list(documents: list[dict[str, Any]]) -> str:
    return orjson.dumps({"apiVersion": "v1", "kind": "List", "items": documents}).decode()
