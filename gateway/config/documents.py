"""Validated configuration documents and the problems found while validating them.

A ``Document`` is one resource of one of the four kinds after its spec passed validation; it is the unit the
reconciler compares with the store. A ``Problem`` names where a document came from, which object, which field
and why — every problem is collected, so a user fixes a folder in one pass instead of one error at a time. A
``Finding`` is the same judgement about a stored object, which has no file: the object, the field, and a reason
word that becomes the operator's condition reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic

from gateway.config import specs


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """The identity of a resource: what Kubernetes calls kind + namespace + name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """Where a document was read from: a file and the document's index in it, or a Kubernetes object."""

    origin: str
    index: int | None = None

    def __str__(self) -> str:
        return self.origin if self.index is None else f"{self.origin} (document {self.index + 1})"


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    ref: ObjectRef
    spec: pydantic.BaseModel
    source: Source
    generation: int | None = None

    def spec_json(self) -> dict[str, Any]:
        return specs.spec_to_json(self.spec)


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    source: Source
    object: str  # "Kind/name" or "" when the document could not be identified
    path: str  # field path such as "spec.pricing.inputPer1K", or "" for the whole document
    message: str

    def __str__(self) -> str:
        where = " ".join(part for part in (str(self.source), self.object) if part)
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    ref: ObjectRef
    path: str  # field path such as "spec.aliases[0]", or "" for the whole object
    reason: str  # CamelCase, a Kubernetes condition reason: "AliasConflict", "ProviderNotFound", ...
    message: str

    def __str__(self) -> str:
        field = f" {self.path}:" if self.path else ""
        return f"{self.ref}:{field} {self.message}"


class ConfigError(Exception):
    """Raised with every problem of a set of documents; nothing has been written when it is raised."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} configuration problem(s):\n" + "\n".join(map(str, problems)))
