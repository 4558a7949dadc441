"""Render and lint charts/ with the helm binary build.sh made (no cluster needed), as YAML documents to inspect.

Shared by the render tests and the install test, which both need "what the chart produces for these values".
"""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "tokenhub"
CRD_CHART = ROOT / "charts" / "tokenhub-crds"
KUBE_VERSION = "1.36.3"  # helm 3.22 would otherwise render for its own client-go's 1.37
# What every render needs: the Secrets an installer creates before `helm install`.
REQUIRED = {
    "database": {"existingSecret": {"name": "tokenhub-db"}},
    "vault": {"existingSecret": {"name": "tokenhub-vault"}},
}

Doc = dict[str, Any]


class RenderFailed(Exception):
    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclasses.dataclass(frozen=True)
class Helm:
    binary: pathlib.Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory() as home:
            env = {"HOME": home, "HELM_CACHE_HOME": home, "HELM_CONFIG_HOME": home, "HELM_DATA_HOME": home}
            return subprocess.run(
                [str(self.binary), *args], capture_output=True, text=True, timeout=60, check=False, env=env
            )

    def template(
        self,
        values: Mapping[str, Any],
        *,
        chart: pathlib.Path = CHART,
        release: str = "tokenhub",
        namespace: str = "tokenhub",
        extra: tuple[str, ...] = (),
    ) -> list[Doc]:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            yaml.safe_dump(dict(values), file)
            file.flush()
            result = self.run(
                "template", release, str(chart), "--namespace", namespace, "--kube-version", KUBE_VERSION,
                "--values", file.name, *extra,
            )  # fmt: skip
        if result.returncode != 0:
            raise RenderFailed(result.stderr)
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in of_kind(docs, kind):
        if doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"no {kind} {name} among {[(d['kind'], d['metadata']['name']) for d in docs]}")


def containers(doc: Doc) -> Iterator[Doc]:
    spec = doc["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]
