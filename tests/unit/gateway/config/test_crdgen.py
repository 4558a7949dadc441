"""The committed CRDs are exactly what the spec models generate, and they are structural."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from gateway.config import crdgen

ROOT = pathlib.Path(__file__).parents[4]
CRDS = ROOT / "crds"


@pytest.mark.parametrize(("target", "keep"), crdgen.TARGETS)
def test_committed_crds_are_fresh(target: str, keep: bool) -> None:
    """crds/ and both charts ship exactly what the spec models generate, and nothing else."""
    folder = ROOT / target
    for name, text in crdgen.rendered_files(keep=keep).items():
        committed = (folder / name).read_text() if (folder / name).exists() else None
        assert committed == text, f"{target}/{name} is stale: run `python -m gateway.config.crdgen`"
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(crdgen.rendered_files())


def test_the_crd_chart_keeps_its_crds_on_uninstall_and_the_others_do_not_need_to() -> None:
    kept = yaml.safe_load(crdgen.rendered_files(keep=True)["tokenhub.io_apikeys.yaml"])
    plain = yaml.safe_load(crdgen.rendered_files()["tokenhub.io_apikeys.yaml"])
    assert kept["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert "annotations" not in plain["metadata"]
    assert {**kept, "metadata": plain["metadata"]} == plain


def walk(node: Any, path: str = "") -> list[str]:
    """Every schema node lacking a type, or using keywords a structural schema forbids."""
    bad: list[str] = []
    if isinstance(node, dict):
        if ("properties" in node or "items" in node or "enum" in node) and "type" not in node:
            bad.append(path or "<root>")
        for forbidden in ("$ref", "anyOf", "oneOf", "allOf", "$defs", "const"):
            if forbidden in node:
                bad.append(f"{path}: {forbidden}")
        if node.get("additionalProperties") is False:
            bad.append(f"{path}: additionalProperties false")
        for key, value in node.items():
            bad.extend(walk(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            bad.extend(walk(value, f"{path}[{i}]"))
    return bad


def test_schemas_are_structural_with_conventions() -> None:
    for info in crdgen.KINDS:
        crd = yaml.safe_load(crdgen.render(info))
        version = crd["spec"]["versions"][0]
        assert walk(version["schema"]) == []
        assert crd["spec"]["names"]["categories"] == ["tokenhub"]
        assert crd["spec"]["names"]["shortNames"]
        assert version["subresources"] == {"status": {}}
        columns = {c["name"] for c in version["additionalPrinterColumns"]}
        assert {"Ready", "Age"} <= columns
        conditions = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"


def test_the_plain_peering_manifest_defines_the_generated_peering_crds() -> None:
    """k8s/operator/peering.yaml carries Kopf's CRDs for kubectl users; they are the ones crds/ and the charts ship."""
    plain = [d for d in yaml.safe_load_all((ROOT / "k8s" / "operator" / "peering.yaml").read_text()) if d]
    defined = {d["metadata"]["name"]: d for d in plain if d["kind"] == "CustomResourceDefinition"}
    generated = {
        name: yaml.safe_load(text) for name, text in crdgen.rendered_files().items() if name.startswith("kopf.dev_")
    }
    assert defined == {crd["metadata"]["name"]: crd for crd in generated.values()}
