"""The build inputs agree with each other and a missing build is reported with the command that fixes it.

These need no control plane: they read versions.env and the builder go.mod files as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e.controlplane import binaries, credentials, errors

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
