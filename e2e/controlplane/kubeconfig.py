"""Kubeconfig files for the test apiserver, one per user, written as JSON (which kubectl and helm read as YAML).

Each file pins the self-made CA rather than skipping TLS verification, so the serving certificate is checked the
way it would be against a real cluster.
"""

from __future__ import annotations

from pathlib import Path

import orjson

CLUSTER_NAME = "tokenhub-e2e"


def render(server: str, ca_file: Path, user: str, token: str, namespace: str = "default") -> bytes:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": CLUSTER_NAME, "user": user, "namespace": namespace}}],
        "current-context": user,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def write(path: Path, server: str, ca_file: Path, user: str, token: str) -> Path:
    path.write_bytes(render(server, ca_file, user, token))
    path.chmod(0o600)
    return path
