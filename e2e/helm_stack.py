"""Run a chart's containers as local processes: argv and environment taken from a rendered Pod template.

``valueFrom`` references are resolved through a ``Sources`` (ConfigMaps and Secrets by name: from rendered
documents, or from the API server after ``helm install``), so the processes get exactly the configuration the
chart gives its Pods - no hand-written second copy. Only what a kubelet would provide differently on this host is
overridden (loopback addresses, ports, the emptyDir's path).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from e2e.chart import Doc

Lookup = Callable[[str], Mapping[str, str]]


class UnresolvedEnv(Exception):
    """A container's environment names a ConfigMap or Secret key that does not exist."""


@dataclasses.dataclass(frozen=True)
class Sources:
    config_map: Lookup
    secret: Lookup


def rendered_sources(docs: list[Doc], secrets: Mapping[str, Mapping[str, str]]) -> Sources:
    """ConfigMaps from the rendered chart, Secrets from ``secrets`` (what an installer creates beforehand)."""
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    return Sources(config_map=lambda name: config_maps.get(name, {}), secret=lambda name: secrets.get(name, {}))


def cluster_sources(kubectl: Callable[..., str], namespace: str) -> Sources:
    """ConfigMaps and Secrets read from the API server, as the kubelet reads them."""

    def fetch(kind: str, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(kubectl("get", kind, name, "-n", namespace, "-o", "json")).get("data") or {}
        return data

    def secret(name: str) -> dict[str, str]:
        return {key: base64.b64decode(value).decode() for key, value in fetch("secret", name).items()}

    return Sources(config_map=lambda name: fetch("configmap", name), secret=secret)


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: Doc) -> Doc:
    (container,) = pod_spec(workload)["containers"]
    result: Doc = container
    return result


def resolve_env(container: Doc, sources: Sources) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            env[name] = str(entry["value"])
            continue
        source = entry["valueFrom"]
        for field, lookup in (("configMapKeyRef", sources.config_map), ("secretKeyRef", sources.secret)):
            if field in source:
                ref = source[field]
                data = lookup(ref["name"])
                if ref["key"] not in data:
                    raise UnresolvedEnv(f"{name}: {field} {ref['name']}/{ref['key']} does not exist")
                env[name] = data[ref["key"]]
                break
        else:
            raise UnresolvedEnv(f"{name}: unsupported valueFrom {source}")
    return env


def argv(container: Doc, bin_dir: pathlib.Path) -> list[str]:
    """The container's command and args, its executable taken from ``bin_dir`` (the image's PATH, here)."""
    command = list(container["command"])
    return [str(bin_dir / command[0]), *command[1:], *container.get("args", [])]


def mount_path(workload: Doc, container: Doc, env_value: str) -> bool:
    """Whether ``env_value`` (a path) is an emptyDir mount of the Pod: the only place a process may write."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    return any(
        m["mountPath"] == env_value and "emptyDir" in volumes[m["name"]] for m in container.get("volumeMounts", [])
    )
