"""Namespaced mode: with ``TOKENHUB_WATCH_NAMESPACES`` the operator needs, and gets, no cluster-wide right.

The operator runs as a ServiceAccount bound only by ``k8s/operator/rbac-namespaced.yaml`` (applied in the one
watched namespace, as shipped; only the ServiceAccount's namespace is the test's own) with a token from the
TokenRequest API. It serves the watched namespace, leaves the others alone, and cannot read or write a Secret
anywhere else - the API server says so.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator

import psycopg
import pytest

from e2e import stack as stack_mod
from e2e.controlplane import kubeconfig
from e2e.controlplane.cluster import Cluster
from e2e.stack import Process, wait_until
from gateway.store import embedded

pytestmark = pytest.mark.e2e
ROOT = pathlib.Path(__file__).resolve().parents[1]
SYSTEM, WATCHED, OTHER = "th-ns-system", "th-ns-watched", "th-ns-other"
ACCOUNT = "tokenhub-operator"


@dataclasses.dataclass
class Namespaced:
    cluster: Cluster
    operator: Process
    database_url: str
    kubeconfig: pathlib.Path

    def as_operator(self, *args: str) -> tuple[int, str]:
        """kubectl as the operator's ServiceAccount (the later --kubeconfig wins over the admin's)."""
        result = self.cluster.kubectl(f"--kubeconfig={self.kubeconfig}", *args, check=False)
        return result.returncode, result.stdout + result.stderr


def install_namespaced_rbac(cluster: Cluster) -> None:
    stack_mod.install(cluster)  # CRDs and peering definitions (and the cluster-mode role, bound to someone else)
    cluster.kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=30s")
    for namespace in (SYSTEM, WATCHED, OTHER):
        cluster.kubectl("create", "namespace", namespace, check=False)
    cluster.kubectl("create", "serviceaccount", ACCOUNT, "-n", SYSTEM, check=False)
    shipped = (ROOT / "k8s" / "operator" / "rbac-namespaced.yaml").read_text()
    assert shipped.count("namespace: tokenhub-system") == 1, "the one subject of the RoleBinding"
    cluster.kubectl("apply", "-n", WATCHED, "-f", "-", stdin=shipped.replace("tokenhub-system", SYSTEM))


@pytest.fixture(scope="module")
def namespaced(control_plane: Cluster) -> Iterator[Namespaced]:
    install_namespaced_rbac(control_plane)
    token = control_plane.kubectl("create", "token", ACCOUNT, "-n", SYSTEM, "--duration=1h").stdout.strip()
    # Not under pytest's basetemp (mode 0700 when run as root): the embedded Postgres runs as its own user.
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="th-namespaced-"))
    config = workdir / "operator.kubeconfig"
    config.write_bytes(kubeconfig.render(control_plane.server, control_plane.ca_file, ACCOUNT, token, WATCHED))
    pg = embedded.start(workdir / "pg")
    env = {
        **stack_mod.operator_env(control_plane, pg.url, 100),
        "KUBECONFIG": str(config),
        "TOKENHUB_WATCH_NAMESPACES": WATCHED,
    }
    operator = stack_mod.spawn([sys.executable, "-m", "tokenhub_operator"], env, workdir / "operator.log")
    try:
        wait_until(lambda: "TokenHub operator ready" in operator.log(), 60, "the operator", operator.log)
        yield Namespaced(control_plane, operator, pg.url, config)
    finally:
        operator.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def resources(namespace: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: creds
          namespace: {namespace}
          labels: {{tokenhub.io/provider-credential: "true"}}
        stringData: {{apiKey: sk-namespaced-0123}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: upstream, namespace: {namespace}}}
        spec: {{type: openai, baseURL: "http://127.0.0.1:9/v1", apiKeySecretRef: {{name: creds}}}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {{name: app, namespace: {namespace}}}
        spec: {{scopes: [chat]}}
        """
    )


def test_the_operator_serves_the_watched_namespace_and_ignores_the_others(namespaced: Namespaced) -> None:
    cluster = namespaced.cluster
    cluster.kubectl("apply", "-f", "-", stdin=resources(OTHER))
    cluster.kubectl("apply", "-f", "-", stdin=resources(WATCHED))
    for resource in ("provider/upstream", "apikey/app"):
        cluster.kubectl("wait", "-n", WATCHED, "--for=condition=Ready", resource, "--timeout=60s")
    assert cluster.kubectl("get", "-n", WATCHED, "secret", "app-key", check=False).returncode == 0
    with psycopg.connect(namespaced.database_url) as conn:
        rows = conn.execute("SELECT DISTINCT namespace FROM config_objects").fetchall()
        assert rows == [(WATCHED,)]
        assert conn.execute("SELECT namespace FROM credentials").fetchall() == [(WATCHED,)]
    untouched = cluster.kubectl("get", "-n", OTHER, "apikey", "app", "-o", "jsonpath={.metadata.finalizers}{.status}")
    assert untouched.stdout == ""
    assert cluster.kubectl("get", "-n", OTHER, "secret", "app-key", check=False).returncode != 0
    assert "forbidden" not in namespaced.operator.log().lower(), "the namespaced Role covers every call it makes"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("get", "secret", "creds", "-n", OTHER), id="read-another-namespace"),
        pytest.param(("create", "secret", "generic", "x", "-n", OTHER, "--from-literal=a=b"), id="write-elsewhere"),
        pytest.param(("delete", "secret", "creds", "-n", OTHER), id="delete-elsewhere"),
        pytest.param(("get", "secrets", "--all-namespaces"), id="list-cluster-wide"),
        pytest.param(("get", "secrets", "-n", SYSTEM), id="its-own-namespace-is-not-watched"),
        pytest.param(("get", "clusterroles"), id="no-cluster-scope"),
    ],
)
def test_the_namespaced_role_refuses_secrets_outside_the_watched_namespace(
    namespaced: Namespaced, args: tuple[str, ...]
) -> None:
    code, output = namespaced.as_operator(*args)
    assert code != 0
    assert "forbidden" in output.lower(), output
    assert namespaced.as_operator("get", "secret", "creds", "-n", WATCHED)[0] == 0, "while in its namespace it can"
