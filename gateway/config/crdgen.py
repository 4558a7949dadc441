"""Generate the CustomResourceDefinitions from the spec and status models.

pydantic emits JSON Schema 2020-12; the API server wants a *structural* OpenAPI v3.0 schema: no ``$ref``, no
``anyOf`` for optionals (``nullable`` instead), boolean ``exclusiveMinimum``, a ``type`` on every node. This module
rewrites one into the other, adds the Kubernetes conventions (printer columns, short names, the ``tokenhub``
category, status subresource) and renders YAML. ``python -m gateway.config.crdgen`` rewrites ``crds/``; a test
fails when the committed files are stale.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
import sys
from typing import Any

import pydantic
import yaml

from gateway.config import specs, status

READY = '.status.conditions[?(@.type=="Ready")]'


@dataclasses.dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    columns: tuple[tuple[str, str, str, int], ...]  # name, type, jsonPath, priority
    # CEL rules on the whole object: the only place a rule may read metadata.name beside the spec.
    rules: tuple[tuple[str, str, str], ...] = ()  # rule, message, the field a refusal names


def _ready_columns() -> tuple[tuple[str, str, str, int], ...]:
    return (
        ("Ready", "string", f"{READY}.status", 0),
        ("Reason", "string", f"{READY}.reason", 1),
        ("Message", "string", f"{READY}.message", 1),
        ("Age", "date", ".metadata.creationTimestamp", 0),
    )


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        "Provider",
        "providers",
        ("thprov",),
        (
            ("Type", "string", ".spec.type", 0),
            ("URL", "string", ".spec.baseURL", 1),
            ("Health", "string", ".status.health", 0),
            *_ready_columns(),
        ),
    ),
    KindInfo(
        "Model",
        "models",
        ("thmodel",),
        (
            ("Provider", "string", ".spec.providerRef", 0),
            ("Upstream", "string", ".spec.upstreamModel", 0),
            ("Weight", "integer", ".spec.weight", 0),
            ("Input/1K", "number", ".spec.pricing.inputPer1K", 1),
            ("Output/1K", "number", ".spec.pricing.outputPer1K", 1),
            *_ready_columns(),
        ),
        (("!(self.metadata.name in self.spec.aliases)", specs.MODEL_ALIAS_OWN_NAME, ".spec.aliases"),),
    ),
    KindInfo(
        "RoutingPolicy",
        "routingpolicies",
        ("thpolicy",),
        (
            ("Mode", "string", ".spec.mode", 0),
            ("Default", "boolean", ".spec.default", 0),
            *_ready_columns(),
        ),
    ),
    KindInfo(
        "ApiKey",
        "apikeys",
        ("thkey",),
        (
            ("Owner", "string", ".spec.owner", 0),
            ("Prefix", "string", ".status.keyPrefix", 0),
            ("Expires", "string", ".spec.expiresAt", 0),
            ("Spend", "number", ".status.spendUSD", 1),
            *_ready_columns(),
        ),
    ),
)

_DROPPED_KEYS = {"title", "$defs", "propertyNames"}


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Rewrite one JSON Schema node into its structural OpenAPI v3.0 equivalent."""
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    any_of = node.get("anyOf")
    if any_of is not None:
        options = [option for option in any_of if option.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"unsupported union in schema: {node}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        merged = _structural({**options[0], **rest}, defs)
        merged["nullable"] = True
        if merged.get("default", 0) is None:
            del merged["default"]
        return merged
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or (key == "additionalProperties" and value is False):
            # The API server prunes unknown fields itself and rejects additionalProperties beside properties.
            continue
        if key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        elif key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value, defs)
        else:
            out[key] = copy.deepcopy(value)  # a definition used twice must not become a YAML alias
    if "properties" in out:
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def schema_of(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    structural: dict[str, Any] = _structural(raw, raw.get("$defs", {}))
    return structural


def _add_map_key_rules(spec_schema: dict[str, Any]) -> None:
    """Dict fields keyed by an enum lose ``propertyNames``; restore the rule in CEL."""
    weights = spec_schema["properties"].get("weights")
    if weights is not None:
        modes = ", ".join(f"'{m.value}'" for m in specs.Mode)
        weights["x-kubernetes-validations"] = [
            {"rule": f"self.all(k, k in [{modes}])", "message": f"keys must be modes: {modes}"}
        ]


def _root_rules(info: KindInfo) -> dict[str, Any]:
    if not info.rules:
        return {}
    rules = [{"rule": rule, "message": message, "fieldPath": path} for rule, message, path in info.rules]
    return {"x-kubernetes-validations": rules}


def crd(info: KindInfo) -> dict[str, Any]:
    spec_schema = schema_of(specs.SPEC_TYPES[info.kind])
    _add_map_key_rules(spec_schema)
    status_schema = schema_of(status.STATUS_TYPES[info.kind])
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{info.plural}.{specs.API_GROUP}"},
        "spec": {
            "group": specs.API_GROUP,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.kind.lower(),
                "shortNames": list(info.short_names),
                "categories": ["tokenhub"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": specs.API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": name, "type": type_, "jsonPath": path, **({"priority": prio} if prio else {})}
                        for name, type_, path, prio in info.columns
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                            **_root_rules(info),
                        }
                    },
                }
            ],
        },
    }


HEADER = "# Generated by `python -m gateway.config.crdgen` from gateway/config/specs.py - do not edit.\n"
# Where the same CRDs go: the plain folder, the application chart's crds/ (installed once, before its templates)
# and the CRD-only chart's templates/ (upgraded with it; kept on uninstall so custom resources survive).
TARGETS: tuple[tuple[str, bool], ...] = (
    ("crds", False),
    ("charts/tokenhub/crds", False),
    ("charts/tokenhub-crds/templates", True),
)
KEEP = {"helm.sh/resource-policy": "keep"}


def peering_crd(kind: str, plural: str, scope: str) -> dict[str, Any]:
    """Kopf's peering resource (the operator replicas' liveness and priority), cluster-wide or per namespace."""
    status_schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "group": "kopf.dev",
            "names": {"kind": kind, "plural": plural, "singular": plural.removesuffix("s")},
            "scope": scope,
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"status": status_schema}}},
                }
            ],
        },
    }


def _dump(document: dict[str, Any], keep: bool) -> str:
    if keep:
        document = {**document, "metadata": {**document["metadata"], "annotations": KEEP}}
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)


def render(info: KindInfo, *, keep: bool = False) -> str:
    return _dump(crd(info), keep)


def rendered_files(*, keep: bool = False) -> dict[str, str]:
    files = {f"{specs.API_GROUP}_{info.plural}.yaml": render(info, keep=keep) for info in KINDS}
    for kind, plural, scope in (
        ("ClusterKopfPeering", "clusterkopfpeerings", "Cluster"),
        ("KopfPeering", "kopfpeerings", "Namespaced"),
    ):
        files[f"kopf.dev_{plural}.yaml"] = _dump(peering_crd(kind, plural, scope), keep)
    return files


def write(directory: pathlib.Path, *, keep: bool = False) -> list[pathlib.Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_files(keep=keep).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """With a folder, write the CRDs there; without, rewrite every place the repository ships them."""
    args = sys.argv[1:] if argv is None else argv
    targets = [(pathlib.Path(args[0]), False)] if args else [(pathlib.Path(path), keep) for path, keep in TARGETS]
    for target, keep in targets:
        for path in write(target, keep=keep):
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
