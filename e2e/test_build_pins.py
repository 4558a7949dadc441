"""The build inputs agree with each other and a missing build is reported with the command that fixes it.

These need no control plane: they read versions.env and the builder go.mod files as text, and check the
command lines and kwok configuration cluster.py would start the workload components with.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
import yaml

from e2e.controlplane import binaries, cluster, components, credentials, errors, kwok

CONTROLPLANE = binaries.VERSIONS_FILE.parent


def required_version(go_mod: Path, module: str) -> str:
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", go_mod.read_text(), re.MULTILINE)
    assert match, f"{go_mod} does not require {module}"
    return match.group(1)


def test_versions_env_matches_the_builder_modules() -> None:
    versions = binaries.parse_versions(binaries.VERSIONS_FILE.read_text())

    assert required_version(CONTROLPLANE / "kube" / "go.mod", "k8s.io/kubernetes") == versions.kubernetes
    assert required_version(CONTROLPLANE / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3") == versions.etcd
    assert required_version(CONTROLPLANE / "helm" / "go.mod", "helm.sh/helm/v3") == versions.helm
    assert required_version(CONTROLPLANE / "kwok" / "go.mod", "sigs.k8s.io/kwok") == versions.kwok


def test_every_binary_build_sh_builds_is_a_tool_of_its_builder_module() -> None:
    script = binaries.BUILD_SCRIPT.read_text()
    built = re.findall(r"^build (\w+) (\S+) ", script, re.MULTILINE)

    assert {package for _, package in built} >= {
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
        "sigs.k8s.io/kwok/cmd/kwok",
    }
    for builder, package in built:
        go_mod = (CONTROLPLANE / builder / "go.mod").read_text()
        assert re.search(rf"^\s*(tool\s+)?{re.escape(package)}$", go_mod, re.MULTILINE), (
            f"{builder}/go.mod lacks tool {package}"
        )


def test_kwok_keeps_its_own_kubernetes_libraries() -> None:
    """kwok's wrapper pins the k8s.io versions kwok itself requires; it must not borrow the kube/ replaces."""
    go_mod = (CONTROLPLANE / "kwok" / "go.mod").read_text()

    assert "replace" not in go_mod
    assert re.search(r"^\s*k8s\.io/client-go v0\.\d+\.\d+ ", go_mod, re.MULTILINE)


def test_every_staging_module_is_replaced_by_the_matching_published_tag() -> None:
    kubernetes = binaries.parse_versions(binaries.VERSIONS_FILE.read_text()).kubernetes
    staging = "v0." + kubernetes.removeprefix("v1.")
    go_mod = (CONTROLPLANE / "kube" / "go.mod").read_text()

    replaced = dict(re.findall(r"^\s*(k8s\.io/\S+) => \1 (v\S+)$", go_mod, re.MULTILINE))

    assert len(replaced) >= 33
    assert set(replaced.values()) == {staging}
    unpublished = set(re.findall(r"^\s*(k8s\.io/\S+) v0\.0\.0 ", go_mod, re.MULTILINE))
    assert unpublished <= set(replaced)


def test_missing_binaries_fail_with_the_build_command(tmp_path: Path) -> None:
    versions = binaries.parse_versions(binaries.VERSIONS_FILE.read_text())

    with pytest.raises(errors.MissingBinaries, match=r"bash e2e/controlplane/build\.sh"):
        binaries.locate(tmp_path, versions)


def test_cache_root_follows_the_environment(tmp_path: Path) -> None:
    assert binaries.cache_root({"TOKENHUB_K8S_CACHE": str(tmp_path)}, Path("/home/x")) == tmp_path
    assert binaries.cache_root({}, Path("/home/x")) == Path("/home/x/.cache/tokenhub-k8s")


def test_token_file_lists_each_user_with_their_groups() -> None:
    admin = credentials.User("admin", ("system:masters", "ops"))
    viewer = credentials.User("viewer")

    text = credentials.token_file({admin: "t1", viewer: "t2"})

    assert text.splitlines() == ['t1,admin,uid-admin,"system:masters,ops"', 't2,viewer,uid-viewer,""']


def test_token_file_refuses_names_that_would_break_its_csv() -> None:
    with pytest.raises(ValueError, match="unusable"):
        credentials.token_file({credentials.User("a,b"): "t"})


def test_expected_binaries_share_the_kubernetes_directory_and_version_kwok_apart(tmp_path: Path) -> None:
    versions = binaries.Versions(kubernetes="v1.2.3", etcd="v3.4.5", helm="v3.9.9", kwok="v0.8.0")

    found = binaries.expected(tmp_path, versions)

    assert found.kube_controller_manager == tmp_path / "kubernetes-v1.2.3" / "kube-controller-manager"
    assert found.kube_scheduler == tmp_path / "kubernetes-v1.2.3" / "kube-scheduler"
    assert found.kwok == tmp_path / "kwok-v0.8.0" / "kwok"
    assert len(set(found.all())) == 7


def test_controller_manager_runs_per_controller_identities_on_loopback_without_leader_election(
    tmp_path: Path,
) -> None:
    argv = components.controller_manager_argv(
        components.ControllerManager(
            binary=tmp_path / "kcm",
            kubeconfig=tmp_path / "kcm.kubeconfig",
            port=4242,
            cert_dir=tmp_path / "certs",
            service_account_key=tmp_path / "sa.key",
            root_ca=tmp_path / "ca.crt",
        )
    )

    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])
    assert flags["bind-address"] == "127.0.0.1"
    assert flags["secure-port"] == "4242"
    assert flags["leader-elect"] == "false"
    assert flags["use-service-account-credentials"] == "true"
    assert flags["service-account-private-key-file"] == str(tmp_path / "sa.key")
    enabled = set(flags["controllers"].split(","))
    assert {"deployment-controller", "replicaset-controller", "garbage-collector-controller"} <= enabled
    assert {"endpointslice-controller", "horizontal-pod-autoscaler-controller", "disruption-controller"} <= enabled
    assert {"job-controller", "namespace-controller", "serviceaccount-token-controller"} <= enabled
    assert "node-lifecycle-controller" in enabled, "nothing else lifts the not-ready taint off a new Node"


def test_scheduler_and_kwok_listen_on_loopback_only(tmp_path: Path) -> None:
    scheduler = components.scheduler_argv(tmp_path / "s", tmp_path / "s.kubeconfig", 4243)
    fake_kubelet = components.kwok_argv(
        tmp_path / "kwok", tmp_path / "k.kubeconfig", tmp_path / "stages.yaml", 4244, kwok.NODE_SELECTOR, kwok.POD_CIDR
    )

    assert "--bind-address=127.0.0.1" in scheduler
    assert "--leader-elect=false" in scheduler
    assert "--server-address=127.0.0.1:4244" in fake_kubelet
    assert "--manage-all-nodes=false" in fake_kubelet
    assert f"--manage-nodes-with-annotation-selector={kwok.NODE_SELECTOR}" in fake_kubelet
    assert "--node-lease-duration-seconds=0" not in fake_kubelet, "node-lifecycle would mark lease-less Nodes NotReady"


def test_fake_nodes_are_managed_by_kwok_and_get_disjoint_pod_ranges_outside_the_service_range() -> None:
    nodes = [kwok.node(index) for index in range(3)]
    key, value = kwok.NODE_SELECTOR.split("=")
    ranges = [ipaddress.ip_network(node["spec"]["podCIDR"]) for node in nodes]

    assert all(node["metadata"]["annotations"][key] == value for node in nodes)
    assert len({node["metadata"]["labels"]["topology.kubernetes.io/zone"] for node in nodes}) == 3
    assert all(r.subnet_of(ipaddress.ip_network(kwok.POD_CIDR)) for r in ranges)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert not ipaddress.ip_network(kwok.POD_CIDR).overlaps(ipaddress.ip_network(cluster.SERVICE_CIDR))


def test_kwok_stages_cover_the_lifecycle_a_chart_install_needs() -> None:
    documents = list(yaml.safe_load_all(kwok.config_yaml()))

    assert {doc["kind"] for doc in documents} == {"Stage"}
    by_name = {doc["metadata"]["name"]: doc["spec"] for doc in documents}
    assert by_name["node-ready"]["resourceRef"]["kind"] == "Node"
    assert "phase: Running" in by_name["pod-running"]["next"]["statusTemplate"]
    assert "phase: Succeeded" in by_name["job-pod-succeeded"]["next"]["statusTemplate"]
    assert by_name["pod-deleted"]["next"] == {"delete": True}


def test_component_users_cannot_be_shadowed_by_test_users(tmp_path: Path) -> None:
    versions = binaries.Versions(kubernetes="v1.2.3", etcd="v3.4.5", helm="v3.9.9", kwok="v0.8.0")
    clash = credentials.User(components.SCHEDULER_USER)

    with pytest.raises(ValueError, match="unique"):
        cluster.Cluster(binaries.expected(tmp_path, versions), tmp_path, users=[clash])
