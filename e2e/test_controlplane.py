"""The test control plane behaves like a real cluster: CRDs, CEL validation, RBAC, helm rendering, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from e2e.controlplane import binaries, errors
from e2e.controlplane.cluster import Cluster

pytestmark = pytest.mark.e2e

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.test"},
    "spec": {
        "group": "example.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wdg"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 0},
                                    "maxSize": {"type": "integer", "minimum": 0},
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "!has(self.maxSize) || self.size <= self.maxSize",
                                        "message": "size must not exceed maxSize",
                                    }
                                ],
                            }
                        },
                    }
                },
            }
        ],
    },
}

READ_WIDGETS: list[dict[str, Any]] = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "widget-reader"},
        "rules": [{"apiGroups": ["example.test"], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "viewer-reads-widgets", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "widget-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}],
    },
]


def widget(name: str, size: int, max_size: int | None = None) -> str:
    spec: dict[str, int] = {"size": size}
    if max_size is not None:
        spec["maxSize"] = max_size
    document = {"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}
    return orjson.dumps(document).decode()


def as_list(documents: list[dict[str, Any]]) -> str:
    return orjson.dumps({"apiVersion": "v1", "kind": "List", "items": documents}).decode()


@pytest.fixture(scope="module")
def widgets(control_plane: Cluster) -> Cluster:
    """The cluster with the Widget CRD established and the viewer allowed to read widgets."""
    control_plane.kubectl("apply", "-f", "-", stdin=orjson.dumps(WIDGET_CRD).decode())
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/widgets.example.test")
    control_plane.kubectl("apply", "-f", "-", stdin=as_list(READ_WIDGETS))
    return control_plane


def test_admin_creates_a_custom_resource_and_kubectl_lists_it(widgets: Cluster) -> None:
    widgets.kubectl("apply", "-f", "-", stdin=widget("small", size=3, max_size=5))

    listed = widgets.kubectl("get", "widgets")

    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "SIZE"]
    assert row.split()[:2] == ["small", "3"]


def test_cel_rule_rejects_a_widget_larger_than_its_max_size(widgets: Cluster) -> None:
    result = widgets.kubectl("apply", "-f", "-", stdin=widget("too-big", size=9, max_size=5), check=False)

    assert result.returncode != 0
    assert result.stderr.strip() == 'The Widget "too-big" is invalid: spec: Invalid value: size must not exceed maxSize'
    assert widgets.kubectl("get", "widget", "too-big", check=False).returncode != 0


def test_viewer_reads_widgets_but_is_forbidden_to_create_one(widgets: Cluster) -> None:
    widgets.kubectl("apply", "-f", "-", stdin=widget("shared", size=1))

    assert "shared" in widgets.kubectl("get", "widgets", user="viewer").stdout
    with pytest.raises(errors.CommandFailed) as refused:
        widgets.kubectl("create", "-f", "-", stdin=widget("from-viewer", size=1), user="viewer")
    assert 'User "viewer" cannot create resource "widgets" in API group "example.test"' in refused.value.stderr


def test_user_without_bindings_cannot_even_list_widgets(widgets: Cluster) -> None:
    result = widgets.kubectl("get", "widgets", user="operator", check=False)

    assert result.returncode != 0
    assert 'User "operator" cannot list resource "widgets"' in result.stderr


def test_helm_renders_a_chart_the_apiserver_accepts(control_plane: Cluster, tmp_path: Path) -> None:
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: {{ .Release.Name }}-tiny\n"
        "data:\n"
        "  greeting: {{ .Values.greeting | quote }}\n"
        "  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n"
    )

    rendered = control_plane.helm("template", "demo", str(chart), "--set", "greeting=bonjour").stdout
    applied = control_plane.kubectl("apply", "--dry-run=server", "-f", "-", stdin=rendered)

    config_map = yaml.safe_load(rendered)
    assert config_map["metadata"]["name"] == "demo-tiny"
    assert config_map["data"]["greeting"] == "bonjour"
    assert config_map["data"]["kubeVersion"] != "v1.20.0", "helm was built without its Kubernetes version stamp"
    assert applied.stdout.strip() == "configmap/demo-tiny created (server dry run)"


def test_apiserver_and_kubectl_report_the_pinned_release(control_plane: Cluster) -> None:
    pinned = binaries.parse_versions(binaries.VERSIONS_FILE.read_text()).kubernetes

    reported = orjson.loads(control_plane.kubectl("version", "-o", "json").stdout)

    assert reported["serverVersion"]["gitVersion"] == pinned
    assert reported["clientVersion"]["gitVersion"] == pinned
