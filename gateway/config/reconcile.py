"""Pure reconciliation: desired documents + what the store holds -> the changes to write.

Used by ``tokenhub apply`` (a whole folder at once, optionally pruning) and by the operator (one object per
event). Comparison is by a hash of the canonical spec JSON, so applying the same documents again yields an empty
change set, and an empty change set never bumps ``config_revision``.

Every stored object has an *owner* (``manifest`` for folders, ``operator`` for a cluster, ``cli`` for keys made
on the command line); pruning only ever removes objects of the pruning owner.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from gateway.config import documents


def spec_hash(spec_json: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(spec_json, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class DesiredObject:
    ref: documents.ObjectRef
    spec: dict[str, Any]
    spec_hash: str
    generation: int | None = None

    @classmethod
    def of(cls, doc: documents.Document) -> DesiredObject:
        spec = doc.spec_json()
        return cls(doc.ref, spec, spec_hash(spec), doc.generation)


@dataclasses.dataclass(frozen=True, slots=True)
class StoredObject:
    ref: documents.ObjectRef
    spec_hash: str
    owner: str


@dataclasses.dataclass(frozen=True, slots=True)
class CredentialChange:
    ref: documents.ObjectRef
    plaintext: bytes | None  # None deletes the stored credential


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeSet:
    upserts: tuple[DesiredObject, ...] = ()
    deletes: tuple[documents.ObjectRef, ...] = ()
    credentials: tuple[CredentialChange, ...] = ()
    issue_keys: tuple[documents.ObjectRef, ...] = ()  # ApiKey resources that need a key issued
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.upserts or self.deletes or self.credentials or self.issue_keys)

    def summary(self) -> str:
        issued = f", {len(self.issue_keys)} key(s) issued" if self.issue_keys else ""
        return (
            f"{len(self.upserts)} created or updated, {len(self.deletes)} deleted, "
            f"{len(self.credentials)} credential change(s){issued}, {self.unchanged} unchanged"
        )


def plan(
    desired: Iterable[DesiredObject],
    current: Mapping[documents.ObjectRef, StoredObject],
    *,
    owner: str,
    prune: bool,
) -> ChangeSet:
    upserts: list[DesiredObject] = []
    unchanged = 0
    wanted: set[documents.ObjectRef] = set()
    for obj in sorted(desired, key=lambda d: d.ref):
        wanted.add(obj.ref)
        stored = current.get(obj.ref)
        if stored is not None and stored.spec_hash == obj.spec_hash and stored.owner == owner:
            unchanged += 1
        else:
            upserts.append(obj)
    deletes: tuple[documents.ObjectRef, ...] = ()
    if prune:
        deletes = tuple(sorted(ref for ref, s in current.items() if s.owner == owner and ref not in wanted))
    return ChangeSet(tuple(upserts), deletes, unchanged=unchanged)


def plan_credentials(
    desired: Mapping[documents.ObjectRef, bytes],
    current: Mapping[documents.ObjectRef, bytes],
    *,
    keep: Iterable[documents.ObjectRef] = (),
) -> tuple[CredentialChange, ...]:
    """Credentials to seal anew (changed or new) and to drop (no longer referenced and not in ``keep``)."""
    kept = set(keep)
    changes = [
        CredentialChange(ref, secret)
        for ref, secret in sorted(desired.items())
        if ref not in current or not hmac.compare_digest(current[ref], secret)
    ]
    changes.extend(CredentialChange(ref, None) for ref in sorted(current) if ref not in desired and ref not in kept)
    return tuple(changes)


def with_credentials(changes: ChangeSet, credentials: Iterable[CredentialChange]) -> ChangeSet:
    return dataclasses.replace(changes, credentials=tuple(credentials))


def keys_to_issue(
    desired: Iterable[DesiredObject], keyed: Iterable[documents.ObjectRef]
) -> tuple[documents.ObjectRef, ...]:
    """ApiKey resources among ``desired`` that hold no usable key yet."""
    have = set(keyed)
    return tuple(sorted(d.ref for d in desired if d.ref.kind == "ApiKey" and d.ref not in have))
