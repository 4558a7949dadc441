"""`helm install` on a control plane that schedules Pods: rollout, the migration hook, the Service's endpoints, then
the operator and a gateway run from the installed Pod templates, `helm upgrade` rolls, `helm uninstall` cleans up.

kwok plays the kubelet, so the installed Pods are Running and Ready without running anything. The real processes
are started on this host from the Deployments and the Job as the API server holds them: command, args and env,
with every secretKeyRef and configMapKeyRef read back from the API server. The operator authenticates with a
token of the chart's ServiceAccount, so it has exactly the RBAC the chart grants. This is also the README's
"Kubernetes in five minutes", step by step.
"""

from __future__ import annotations

import base64
import dataclasses
import pathlib
import shutil
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import yaml

from e2e import chart, helm_stack
from e2e.chart import REQUIRED
from e2e.controlplane.cluster import Cluster
from e2e.stack import Process, free_port, spawn, wait_until
from gateway.config import egress
from gateway.store import embedded

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

RELEASE = "tokenhub"
VAULT_PASSWORD = "helm e2e vault password"
BIN = pathlib.Path(sys.executable).parent  # where the image's PATH would find tokenhub and tokenhub-operator
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"
NAMESPACED_KINDS = (
    "deployments", "replicasets", "pods", "services", "configmaps", "serviceaccounts", "networkpolicies",
    "horizontalpodautoscalers", "poddisruptionbudgets", "jobs", "secrets", "roles", "rolebindings",
)  # fmt: skip


@dataclasses.dataclass
class Installed:
    cluster: Cluster
    namespace: str
    apps: str  # where the example resources go
    values: pathlib.Path
    workdir: pathlib.Path
    database_url: str
    upstream_url: str
    install_output: str  # helm prints NOTES.txt here

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self.cluster.kubectl(*args, stdin=stdin, timeout=120).stdout

    def get(self, *args: str, namespace: str | None = None) -> Any:
        return self.cluster.get_json(*args, namespace=namespace or self.namespace)

    def helm(self, *args: str) -> str:
        return self.cluster.helm(*args, "--namespace", self.namespace, timeout=300).stdout

    def sources(self) -> helm_stack.Sources:
        return helm_stack.cluster_sources(self.kubectl, self.namespace)

    def labelled(self, kind: str) -> list[str]:
        items = self.get(kind, "-l", INSTANCE)["items"]
        return [f"{kind}/{item['metadata']['name']}" for item in items]


@pytest.fixture(scope="module")
def installed(workload_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """An external Postgres, the mock upstream, the installer's two Secrets and `helm install --wait`."""
    workdir = pathlib.Path(tmp_path_factory.mktemp("helm"))
    suffix = uuid.uuid4().hex[:6]
    namespace, apps = f"tokenhub-{suffix}", f"apps-{suffix}"
    # A short path outside pytest's private temp dir: pgserver runs Postgres as its own user.
    pg_dir = pathlib.Path(tempfile.mkdtemp(prefix="thpg-"))
    pg = embedded.start(pg_dir)
    upstream_port = free_port()
    mock = [sys.executable, str(chart.ROOT / "bench" / "mock_upstream.py"), "--port", str(upstream_port)]
    upstream = spawn(mock, {}, workdir / "upstream.log")
    values = workdir / "values.yaml"
    # The processes run on this machine and the examples' upstream is the mock on loopback, which the default
    # egress policy refuses: the release allows it as a user would allow an in-cluster model server.
    values.write_text(
        yaml.safe_dump(chart.merge(REQUIRED, {"egress": {"providerAllow": f"{egress.LOOPBACK_ALLOW},*.svc"}}))
    )
    try:
        for ns in (namespace, apps):
            workload_cluster.kubectl("create", "namespace", ns)
        # As k8s/namespace.yaml: the API server's Pod Security admission refuses any Pod of the chart that is not
        # `restricted` (non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault).
        workload_cluster.kubectl(
            "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted",
        )  # fmt: skip
        workload_cluster.kubectl(
            "create", "secret", "generic", "tokenhub-db", f"--from-literal=url={pg.url}", "-n", namespace
        )
        workload_cluster.kubectl(
            "create", "secret", "generic", "tokenhub-vault", f"--from-literal=password={VAULT_PASSWORD}",
            "-n", namespace,
        )  # fmt: skip
        install = workload_cluster.helm(
            "install", RELEASE, str(chart.CHART), "--namespace", namespace, "--values", str(values),
            "--wait", "--timeout", "180s", timeout=240,
        )  # fmt: skip
        yield Installed(
            workload_cluster, namespace, apps, values, workdir, pg.url, f"http://127.0.0.1:{upstream_port}/v1",
            install.stdout,
        )  # fmt: skip
    finally:
        workload_cluster.helm("uninstall", RELEASE, "--namespace", namespace, check=False, timeout=120)
        for ns in (apps, namespace):
            workload_cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        upstream.stop()
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)


def test_install_rolls_out_the_deployments_onto_nodes_and_fills_the_service(installed: Installed) -> None:
    deployments = {d["metadata"]["name"] for d in installed.get("deployments", "-l", INSTANCE)["items"]}
    assert deployments == {"tokenhub-gateway", "tokenhub-operator-0", "tokenhub-operator-1"}
    for name in deployments:
        installed.cluster.wait_rollout(name, installed.namespace)
    gateway_pods = installed.get("pods", "-l", f"{INSTANCE},app.kubernetes.io/component=gateway")["items"]
    assert len(gateway_pods) == 2  # the HPA's minReplicas
    assert {pod["spec"]["nodeName"] for pod in gateway_pods} <= set(installed.cluster.nodes)
    replica_sets = installed.get("replicasets", "-l", f"{INSTANCE},app.kubernetes.io/component=gateway")["items"]
    assert len(replica_sets) == 1

    def ready_endpoints() -> int:
        slices = installed.get("endpointslices", "-l", "kubernetes.io/service-name=tokenhub")["items"]
        return sum(1 for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready"))

    wait_until(lambda: ready_endpoints() == 2, 60, "the Service's EndpointSlices to list both gateways")
    service = installed.get("service", "tokenhub")
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("http", 80)]
    # NOTES.txt: where to point the SDK and how to read the first key.
    assert f"http://tokenhub.{installed.namespace}.svc/v1" in installed.install_output
    assert "jsonpath='{.data.apiKey}'" in installed.install_output


def test_the_migration_job_ran_as_a_hook_and_hpa_pdb_and_network_policies_were_accepted(installed: Installed) -> None:
    job = installed.get("job", "tokenhub-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["status"].get("succeeded") == 1
    assert installed.get("hpa", "tokenhub-gateway")["spec"]["minReplicas"] == 2
    wait_until(
        lambda: installed.get("pdb", "tokenhub-gateway").get("status", {}).get("expectedPods") == 2,
        60,
        "the disruption controller to count the gateways",
    )
    policies = {p["metadata"]["name"] for p in installed.get("networkpolicies", "-l", INSTANCE)["items"]}
    assert policies == {"tokenhub-gateway", "tokenhub-operator", "tokenhub-migrate"}
    assert installed.get("clusterkopfpeering", f"{installed.namespace}-tokenhub", namespace="")


def operator_kubeconfig(installed: Installed) -> pathlib.Path:
    """A kubeconfig holding a token of the chart's operator ServiceAccount: the Pod's identity, off the Pod."""
    token = installed.kubectl("create", "token", "tokenhub-operator", "-n", installed.namespace, "--duration=1h")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": installed.cluster.server,
                                                 "certificate-authority": str(installed.cluster.ca_file)}}],
        "users": [{"name": "operator-sa", "user": {"token": token.strip()}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "operator-sa"}}],
        "current-context": "e2e",
    }  # fmt: skip
    path = installed.workdir / "operator-sa.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def examples(installed: Installed) -> str:
    """examples/ as shipped, its upstreams pointed at the loopback mock (no traffic leaves this host)."""
    text = "\n---\n".join(p.read_text() for p in sorted((chart.ROOT / "examples").glob("*.yaml")))
    for public in ("https://api.openai.com/v1", "https://api.anthropic.com/v1"):
        assert public in text
        text = text.replace(public, installed.upstream_url)
    secrets = textwrap.dedent(
        """
        apiVersion: v1
        kind: Secret
        metadata:
          name: openai-credentials
          labels: {tokenhub.io/provider-credential: "true"}
        stringData: {apiKey: sk-e2e-openai}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: anthropic-credentials
          labels: {tokenhub.io/provider-credential: "true"}
        stringData: {apiKey: sk-ant-e2e}
        """
    )
    return secrets + "\n---\n" + text


@dataclasses.dataclass
class Processes:
    operator: Process
    gateway: Process
    gateway_url: str


@pytest.fixture(scope="module")
def processes(installed: Installed) -> Iterator[Processes]:
    """The migration Job, one operator and a gateway, each run from its template as installed."""
    sources = installed.sources()
    job = installed.get("job", "tokenhub-migrate")
    container = helm_stack.only_container(job)
    migrate = spawn(
        helm_stack.argv(container, BIN),
        {**helm_stack.resolve_env(container, sources), "TOKENHUB_DATA_DIR": str(installed.workdir / "job")},
        installed.workdir / "migrate.log",
    )
    assert migrate.proc.wait(60) == 0, migrate.log()

    operator_deployment = installed.get("deployment", "tokenhub-operator-0")
    container = helm_stack.only_container(operator_deployment)
    operator_env = helm_stack.resolve_env(container, sources)
    operator_env |= {"KUBECONFIG": str(operator_kubeconfig(installed)), "TOKENHUB_RETRY_DELAY_SECONDS": "2"}
    operator = spawn(helm_stack.argv(container, BIN), operator_env, installed.workdir / "operator.log")

    gateway_deployment = installed.get("deployment", "tokenhub-gateway")
    container = helm_stack.only_container(gateway_deployment)
    port = free_port()
    gateway_env = helm_stack.resolve_env(container, sources)
    assert gateway_env["TOKENHUB_MIGRATE"] == "check" and gateway_env["TOKENHUB_HOST"] == "0.0.0.0"
    gateway_env |= {
        "TOKENHUB_HOST": "127.0.0.1",  # a kubelet gives the Pod its own network; here, loopback only
        "TOKENHUB_PORT": str(port),
        "TOKENHUB_METRICS_PORT": str(free_port()),
        "TOKENHUB_DATA_DIR": str(installed.workdir / "gateway-data"),  # the emptyDir
        "TOKENHUB_CONFIG_POLL_SECONDS": "0.5",
    }
    gateway = spawn(helm_stack.argv(container, BIN), gateway_env, installed.workdir / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 60, "the gateway from the installed template to be ready", gateway.log)
        yield Processes(operator, gateway, url)
    finally:
        gateway.stop()
        operator.stop()


def test_the_installed_processes_reconcile_the_examples_and_answer_the_openai_sdk(
    installed: Installed, processes: Processes
) -> None:
    installed.kubectl("apply", "-n", installed.apps, "-f", "-", stdin=examples(installed))
    installed.kubectl(
        "wait", "--for=condition=Ready", "apikey/demo", "provider/openai", "model/gpt-4o-mini",
        "-n", installed.apps, "--timeout=90s",
    )  # fmt: skip
    encoded = installed.kubectl("get", "secret", "demo-key", "-n", installed.apps, "-o", "jsonpath={.data.apiKey}")
    key = base64.b64decode(encoded).decode()
    client = openai.OpenAI(base_url=f"{processes.gateway_url}/v1", api_key=key, max_retries=0, timeout=10)

    def answered() -> bool:
        try:
            client.models.list()
        except openai.AuthenticationError:
            return False
        return True

    wait_until(answered, 30, "the gateway to know the issued key", processes.gateway.log)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    assert "gpt-4o-mini" in {m.id for m in client.models.list()}


def test_deleting_an_apikey_collects_its_secret_through_the_owner_reference(
    installed: Installed, processes: Processes
) -> None:
    secret = installed.get("secret", "demo-key", namespace=installed.apps)
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("ApiKey", "demo")
    installed.kubectl("delete", "apikey", "demo", "-n", installed.apps, "--timeout=60s")

    def collected() -> bool:
        names = installed.get("secrets", namespace=installed.apps)["items"]
        return "demo-key" not in {s["metadata"]["name"] for s in names}

    wait_until(collected, 60, "the garbage collector to delete the ApiKey's Secret", processes.operator.log)


def test_upgrade_with_changed_values_rolls_the_gateway_and_reruns_the_migration_hook(
    installed: Installed, processes: Processes
) -> None:
    selector = f"{INSTANCE},app.kubernetes.io/component=gateway"
    before = {rs["metadata"]["name"] for rs in installed.get("replicasets", "-l", selector)["items"]}
    job_before = installed.get("job", "tokenhub-migrate")["metadata"]["uid"]
    installed.helm(
        "upgrade", RELEASE, str(chart.CHART), "--values", str(installed.values), "--set", "logLevel=debug",
        "--wait", "--timeout", "180s",
    )  # fmt: skip
    installed.cluster.wait_rollout("tokenhub-gateway", installed.namespace)
    after = {rs["metadata"]["name"]: rs for rs in installed.get("replicasets", "-l", selector)["items"]}
    (new,) = set(after) - before
    assert after[new]["status"].get("readyReplicas") == 2
    assert all(after[old]["spec"]["replicas"] == 0 for old in before)
    assert installed.get("configmap", "tokenhub-settings")["data"]["TOKENHUB_LOG_LEVEL"] == "debug"
    assert installed.get("job", "tokenhub-migrate")["metadata"]["uid"] != job_before


def test_uninstall_leaves_nothing_of_the_release_but_the_crds(installed: Installed, processes: Processes) -> None:
    installed.kubectl(
        "delete", "-n", installed.apps, "-f", "-", "--ignore-not-found", "--timeout=60s", stdin=examples(installed)
    )
    assert installed.get("providers,models,routingpolicies,apikeys", namespace=installed.apps)["items"] == []
    processes.gateway.stop()
    processes.operator.stop()
    installed.helm("uninstall", RELEASE, "--wait", "--timeout", "120s")

    def leftovers() -> list[str]:
        return [name for kind in NAMESPACED_KINDS for name in installed.labelled(kind)]

    # Helm leaves hook objects alone; the finished migration Job goes when its TTL runs out (here: now).
    assert "jobs/tokenhub-migrate" in leftovers()
    installed.kubectl(
        "patch", "job", "tokenhub-migrate", "-n", installed.namespace, "--type=merge",
        "-p", '{"spec":{"ttlSecondsAfterFinished":0}}',
    )  # fmt: skip
    wait_until(lambda: leftovers() == [], 90, "every object of the release to go", lambda: str(leftovers()))
    cluster_scoped = installed.kubectl("get", "clusterroles,clusterrolebindings,clusterkopfpeerings", "-l", INSTANCE)
    assert installed.namespace not in cluster_scoped
    crds = installed.kubectl("get", "crds", "-o", "name")
    for crd in ("providers.tokenhub.io", "models.tokenhub.io", "routingpolicies.tokenhub.io", "apikeys.tokenhub.io"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{crd}" in crds
