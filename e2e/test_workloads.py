"""The workload cluster runs what a chart installs: Deployments roll out onto kwok Nodes, Services get endpoints,
Jobs complete, owners' deletion collects their dependents, HPA and PDB are acted on, namespaces really go away,
and `helm install --wait` returns once a chart with a pre-install hook Job is up. A component that dies at start
fails the start with its log and leaves no process behind.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from e2e.controlplane import binaries, errors, kwok, processes, waiting
from e2e.controlplane.cluster import SERVICE_CIDR, Cluster

pytestmark = pytest.mark.e2e

POD_NETWORK = ipaddress.ip_network(kwok.POD_CIDR)


def apply(cluster: Cluster, *documents: dict[str, Any]) -> None:
    cluster.kubectl(
        "apply", "-f", "-", stdin=orjson.dumps({"apiVersion": "v1", "kind": "List", "items": list(documents)}).decode()
    )


def deployment(name: str, namespace: str, replicas: int = 2, image: str = "example.test/web:1") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def pods(cluster: Cluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.get_json("pods", "-l", selector, namespace=namespace)["items"]
    return items


def condition(obj: dict[str, Any], kind: str) -> str | None:
    for entry in obj.get("status", {}).get("conditions", []):
        if entry["type"] == kind:
            status: str = entry["status"]
            return status
    return None


@pytest.fixture
def namespace(workload_cluster: Cluster) -> Iterator[str]:
    """A fresh namespace per test, deleted (and, with the namespace controller running, emptied) afterwards."""
    name = f"wl-{uuid.uuid4().hex[:8]}"
    workload_cluster.kubectl("create", "namespace", name)
    yield name
    workload_cluster.kubectl("delete", "namespace", name, "--wait=false")


def test_deployment_with_two_replicas_rolls_out_onto_the_kwok_nodes(workload_cluster: Cluster, namespace: str) -> None:
    apply(workload_cluster, deployment("web", namespace))

    workload_cluster.wait_rollout("web", namespace)

    replica_sets = workload_cluster.get_json("replicasets", "-l", "app=web", namespace=namespace)["items"]
    assert len(replica_sets) == 1
    assert replica_sets[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert replica_sets[0]["status"]["readyReplicas"] == 2
    running = pods(workload_cluster, namespace, "app=web")
    assert len(running) == 2
    for pod in running:
        assert pod["metadata"]["ownerReferences"][0]["name"] == replica_sets[0]["metadata"]["name"]
        assert pod["spec"]["nodeName"] in workload_cluster.nodes
        assert pod["status"]["phase"] == "Running"
        assert condition(pod, "Ready") == "True"
        assert ipaddress.ip_address(pod["status"]["podIP"]) in POD_NETWORK
    assert len({pod["status"]["podIP"] for pod in running}) == 2


def test_a_changed_pod_template_rolls_to_a_new_replica_set_and_old_pods_go_away(
    workload_cluster: Cluster, namespace: str
) -> None:
    apply(workload_cluster, deployment("web", namespace, image="example.test/web:1"))
    workload_cluster.wait_rollout("web", namespace)
    first = {pod["metadata"]["name"] for pod in pods(workload_cluster, namespace, "app=web")}

    apply(workload_cluster, deployment("web", namespace, image="example.test/web:2"))
    workload_cluster.wait_rollout("web", namespace)

    def only_new_pods() -> list[dict[str, Any]] | None:
        current = pods(workload_cluster, namespace, "app=web")
        return current if len(current) == 2 and not first & {p["metadata"]["name"] for p in current} else None

    current = waiting.until(only_new_pods, "the old Pods to be deleted")
    assert {pod["spec"]["containers"][0]["image"] for pod in current} == {"example.test/web:2"}
    replica_sets = workload_cluster.get_json("replicasets", "-l", "app=web", namespace=namespace)["items"]
    assert sorted(rs["spec"]["replicas"] for rs in replica_sets) == [0, 2]


def test_cluster_ip_service_gets_endpoint_slices_with_the_pod_ips(workload_cluster: Cluster, namespace: str) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    apply(workload_cluster, deployment("web", namespace), service)
    workload_cluster.wait_rollout("web", namespace)
    pod_ips = {pod["status"]["podIP"] for pod in pods(workload_cluster, namespace, "app=web")}

    def ready_addresses() -> list[dict[str, Any]] | None:
        slices = workload_cluster.get_json(
            "endpointslices", "-l", "kubernetes.io/service-name=web", namespace=namespace
        )["items"]
        endpoints = [endpoint for item in slices for endpoint in item.get("endpoints") or []]
        ready = {a for e in endpoints if e["conditions"].get("ready") for a in e["addresses"]}
        return slices if ready == pod_ips else None

    slices = waiting.until(ready_addresses, f"EndpointSlices of Service web to list {sorted(pod_ips)}")

    assert {port["port"] for item in slices for port in item["ports"]} == {8080}
    cluster_ip = workload_cluster.get_json("service", "web", namespace=namespace)["spec"]["clusterIP"]
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(SERVICE_CIDR)


def test_a_job_gets_a_pod_on_a_kwok_node_and_completes(workload_cluster: Cluster, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": "example.test/migrate:1", "args": ["migrate"]}],
                }
            },
        },
    }
    apply(workload_cluster, job)

    workload_cluster.kubectl("wait", "--for=condition=Complete", "--timeout=60s", "job/migrate", f"-n={namespace}")

    (pod,) = pods(workload_cluster, namespace, "job-name=migrate")
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert pod["spec"]["nodeName"] in workload_cluster.nodes
    assert pod["status"]["phase"] == "Succeeded"
    assert workload_cluster.get_json("job", "migrate", namespace=namespace)["status"]["succeeded"] == 1


GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.workloads.example.test"},
    "spec": {
        "group": "workloads.example.test",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


@pytest.mark.parametrize(
    ("owner_kind", "owner_resource"), [("ConfigMap", "configmap"), ("Gadget", "gadgets.workloads.example.test")]
)
def test_deleting_an_owner_garbage_collects_the_secret_it_owns(
    workload_cluster: Cluster, namespace: str, owner_kind: str, owner_resource: str
) -> None:
    if owner_kind == "Gadget":
        apply(workload_cluster, GADGET_CRD)
        workload_cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=30s", "crd/gadgets.workloads.example.test"
        )
        owner: dict[str, Any] = {"apiVersion": "workloads.example.test/v1", "kind": "Gadget", "spec": {"size": 1}}
    else:
        owner = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}
    owner["metadata"] = {"name": "owner", "namespace": namespace}
    apply(workload_cluster, owner)
    uid = workload_cluster.get_json(owner_resource, "owner", namespace=namespace)["metadata"]["uid"]
    owned = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "owned",
            "namespace": namespace,
            "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner_kind, "name": "owner", "uid": uid}],
        },
        "stringData": {"token": "s3cret"},
    }
    unowned = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unowned", "namespace": namespace}}
    apply(workload_cluster, owned, unowned)

    workload_cluster.kubectl("delete", owner_resource, "owner", f"-n={namespace}")

    def secret_gone() -> bool | None:
        found = workload_cluster.kubectl("get", "secret", "owned", f"-n={namespace}", check=False)
        return True if found.returncode != 0 and "NotFound" in found.stderr else None

    # A custom resource's dependents are collected once the collector's discovery resync (every 30 s) has seen
    # the CRD, so this may take that long for a CRD created a moment ago.
    waiting.until(secret_gone, f"the Secret owned by the deleted {owner_kind} to be collected", timeout=45)
    assert workload_cluster.get_json("secret", "unowned", namespace=namespace)["metadata"]["name"] == "unowned"


def test_hpa_and_pdb_are_accepted_and_acted_on(workload_cluster: Cluster, namespace: str) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    apply(workload_cluster, deployment("web", namespace), hpa, pdb)
    workload_cluster.wait_rollout("web", namespace)

    def pdb_counted() -> dict[str, Any] | None:
        status: dict[str, Any] = workload_cluster.get_json("pdb", "web", namespace=namespace).get("status", {})
        return status if status.get("currentHealthy") == 2 else None

    def hpa_read_its_target() -> dict[str, Any] | None:
        found: dict[str, Any] = workload_cluster.get_json("hpa", "web", namespace=namespace)
        return found if condition(found, "AbleToScale") == "True" else None

    budget = waiting.until(pdb_counted, "the disruption controller to count the healthy Pods")
    assert budget["desiredHealthy"] == 1
    assert budget["disruptionsAllowed"] == 1
    autoscaler = waiting.until(hpa_read_its_target, "the HPA controller to read the Deployment's scale")
    assert autoscaler["status"]["currentReplicas"] == 2
    assert condition(autoscaler, "ScalingActive") == "False", "no metrics API runs, so the HPA cannot compute usage"


def test_deleting_a_namespace_removes_its_running_workloads(workload_cluster: Cluster) -> None:
    name = f"wl-{uuid.uuid4().hex[:8]}"
    workload_cluster.kubectl("create", "namespace", name)
    apply(workload_cluster, deployment("web", name))
    workload_cluster.wait_rollout("web", name)

    workload_cluster.kubectl("delete", "namespace", name, "--timeout=60s", timeout=70)

    assert workload_cluster.kubectl("get", "namespace", name, check=False).returncode != 0
    remaining = workload_cluster.get_json("pods", "--all-namespaces", "-l", "app=web")["items"]
    assert [pod for pod in remaining if pod["metadata"]["namespace"] == name] == []


HOOKED_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: hooked\nversion: 0.1.0\n",
    "templates/migrate.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: example.test/app:1
        args: [migrate]
""",
    "templates/app.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  replicas: 2
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: example.test/app:1
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{name: http, port: 80, targetPort: http}]
""",
}


def test_helm_install_waits_through_a_hook_job_and_a_rollout(
    workload_cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    for relative, text in HOOKED_CHART.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)

    workload_cluster.helm(
        "install", "demo", str(tmp_path), f"--namespace={namespace}", "--wait", "--timeout=45s", timeout=50
    )

    hook = workload_cluster.get_json("job", "demo-migrate", namespace=namespace)
    assert hook["status"]["succeeded"] == 1
    app = workload_cluster.get_json("deployment", "demo-app", namespace=namespace)
    assert app["status"]["readyReplicas"] == 2
    status = workload_cluster.helm("status", "demo", f"--namespace={namespace}", "-o", "json").stdout
    assert orjson.loads(status)["info"]["status"] == "deployed"


def test_a_component_that_dies_at_start_fails_with_its_log_and_stops_the_cluster(
    control_plane_binaries: binaries.Binaries, tmp_path: Path
) -> None:
    broken = dataclasses.replace(control_plane_binaries, kwok=Path("/bin/false"))
    with Cluster(broken, tmp_path / "cluster") as cluster:
        trusted = ssl.create_default_context(cafile=str(cluster.ca_file))
        readyz = functools.partial(processes.http_ok, f"{cluster.server}/readyz", trusted, cluster.token("admin"))
        assert readyz()

        with pytest.raises(errors.StartupFailed, match=r"kwok exited with 1 while starting"):
            cluster.start_workloads()

        assert not cluster.runs_workloads
        assert not readyz(), "the apiserver outlived a failed start"
        assert (tmp_path / "cluster" / "kwok.log").exists()
