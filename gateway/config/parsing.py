"""Turn one raw Kubernetes-shaped object (a dict) into a validated ``Document`` or a list of ``Problem``s.

The operator hands in the bodies it receives from the API server; the manifest loader hands in YAML documents.
Both go through this one function, so a spec is judged the same way in standalone mode and in a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from gateway.config import documents, specs

DEFAULT_NAMESPACE = "default"


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    # pydantic prefixes validator messages with "Value error, "; the prefix says nothing to a user.
    return message.removeprefix("Value error, ")


def parse_object(raw: object, source: documents.Source) -> documents.Document | list[documents.Problem]:
    """Validate apiVersion, kind, metadata and spec; report every problem found."""
    if not isinstance(raw, Mapping):
        return [documents.Problem(source, "", "", f"expected a mapping, got {type(raw).__name__}")]
    problems: list[documents.Problem] = []
    kind = raw.get("kind")
    metadata = raw.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    label = f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else ""

    def problem(path: str, message: str) -> None:
        problems.append(documents.Problem(source, label, path, message))

    api_version = raw.get("apiVersion")
    if api_version != specs.GROUP_VERSION:
        problem("apiVersion", f"must be {specs.GROUP_VERSION!r}, got {api_version!r}")
    if kind not in specs.SPEC_TYPES:
        problem("kind", f"unknown kind {kind!r}; expected one of {', '.join(specs.KINDS)}")
    namespace = DEFAULT_NAMESPACE
    if not isinstance(metadata, Mapping):
        problem("metadata", "is required and must be a mapping")
    else:
        if not isinstance(name, str) or not specs.is_valid_name(name):
            problem("metadata.name", f"must be a DNS label (lowercase, digits, '-', <= 63), got {name!r}")
        ns = metadata.get("namespace", DEFAULT_NAMESPACE)
        if not isinstance(ns, str) or not specs.is_valid_name(ns):
            problem("metadata.namespace", f"must be a DNS label, got {ns!r}")
        else:
            namespace = ns
    spec_raw = raw.get("spec")
    spec: pydantic.BaseModel | None = None
    if not isinstance(spec_raw, Mapping):
        problem("spec", "is required and must be a mapping")
    elif kind in specs.SPEC_TYPES:
        try:
            spec = specs.SPEC_TYPES[kind].model_validate(spec_raw)
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                problem(_field_path(("spec", *error["loc"])), _describe(error))
    if problems or spec is None or not isinstance(kind, str) or not isinstance(name, str):
        return problems
    generation = metadata.get("generation") if isinstance(metadata, Mapping) else None
    return documents.Document(
        ref=documents.ObjectRef(kind, namespace, name),
        spec=spec,
        source=source,
        generation=generation if isinstance(generation, int) else None,
    )
