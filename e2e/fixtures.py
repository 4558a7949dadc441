"""pytest fixtures for end-to-end tests: one real control plane shared by the whole session.

`control_plane` is etcd + kube-apiserver only (envtest-like, starts in ~4 s); `workload_cluster` is the same
cluster with controller-manager, scheduler and kwok's fake Nodes added the first time a test asks for it, so
Deployments roll out and Pods run. The components then stay up for the rest of the session.

Missing binaries fail the tests with the build command to run; they never skip, because a silently skipped
end-to-end tier looks exactly like a passing one in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.controlplane import binaries, errors
from e2e.controlplane.cluster import Cluster


@pytest.fixture(scope="session")
def control_plane_binaries() -> binaries.Binaries:
    versions = binaries.parse_versions(binaries.VERSIONS_FILE.read_text())
    root = binaries.cache_root(os.environ, Path.home())
    try:
        return binaries.locate(root, versions)
    except errors.MissingBinaries as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def control_plane(
    control_plane_binaries: binaries.Binaries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """etcd + kube-apiserver with users admin (system:masters), operator and viewer (no rights)."""
    with Cluster(control_plane_binaries, tmp_path_factory.mktemp("control-plane")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def workload_cluster(control_plane: Cluster) -> Cluster:
    """`control_plane` plus kube-controller-manager, kube-scheduler and kwok with Ready fake Nodes.

    Deployments roll out (`cluster.wait_rollout(name, namespace)`), Pods are scheduled onto `cluster.nodes` and
    turn Running and Ready with an IP, Services get EndpointSlices, Jobs complete, owned objects are
    garbage-collected and deleted namespaces go away.
    """
    control_plane.start_workloads()
    return control_plane
