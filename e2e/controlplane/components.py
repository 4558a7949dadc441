"""Command lines of the components that make the test cluster run workloads: controller-manager, scheduler, kwok.

Pure functions from paths and ports to argv, so the flags can be read (and unit-tested) apart from the process
supervision in cluster.py. Every component listens on 127.0.0.1 only and runs without leader election.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The controllers a chart install exercises. node-lifecycle removes the not-ready taint the apiserver puts on a new
# Node once kwok reports it Ready (and watches kwok's Leases). IPAM, cloud, volume and CSR controllers are left
# out: kwok plays the kubelet and there is no cloud, storage or kubelet TLS bootstrap to serve.
CONTROLLERS = (
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemonset-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "garbage-collector-controller",
    "horizontal-pod-autoscaler-controller",
    "job-controller",
    "namespace-controller",
    "node-lifecycle-controller",
    "pod-garbage-collector-controller",
    "replicaset-controller",
    "root-ca-certificate-publisher-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
)

# RBAC subjects the bootstrap policy of kube-apiserver already binds to their roles.
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
SCHEDULER_USER = "system:kube-scheduler"


@dataclass(frozen=True, slots=True)
class ControllerManager:
    binary: Path
    kubeconfig: Path
    port: int
    cert_dir: Path
    service_account_key: Path
    root_ca: Path


def controller_manager_argv(cm: ControllerManager) -> list[str]:
    return [
        str(cm.binary),
        f"--kubeconfig={cm.kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={cm.port}",
        f"--cert-dir={cm.cert_dir}",
        "--leader-elect=false",
        f"--controllers={','.join(CONTROLLERS)}",
        # Each controller acts as its own kube-system ServiceAccount with the bootstrap role made for it, as in
        # kubeadm clusters; the manager's own user may only mint those tokens.
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={cm.service_account_key}",
        f"--root-ca-file={cm.root_ca}",
        # The HPA controller handles each autoscaler once per sync period (15 s by default), its first sight of a
        # new one included; a test cluster holds a handful, so a second costs nothing and keeps tests short.
        "--horizontal-pod-autoscaler-sync-period=1s",
        "--profiling=false",
    ]


def scheduler_argv(binary: Path, kubeconfig: Path, port: int) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def kwok_argv(binary: Path, kubeconfig: Path, config: Path, port: int, node_selector: str, pod_cidr: str) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--config={config}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={node_selector}",
        "--node-ip=127.0.0.1",
        f"--node-port={port}",
        f"--server-address=127.0.0.1:{port}",
        f"--cidr={pod_cidr}",
        # kwok renews a Lease per Node, the heartbeat the node lifecycle controller reads to keep them Ready.
        "--node-lease-duration-seconds=40",
    ]
