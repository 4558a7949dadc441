"""Configuration rows in Postgres: read the current state, apply a change set in one transaction, load all.

Every write path (``tokenhub apply``, the operator, ``tokenhub keys``) goes through ``apply``: it locks the
revision row, lets a pure planner compare the desired documents with what is stored *inside* the transaction (so
concurrent writers serialise instead of racing), writes, and - only when something changed - bumps
``config_revision`` and sends ``NOTIFY tokenhub_config`` in the same transaction, which Postgres delivers only
at commit. Readers load everything in one ``REPEATABLE READ`` transaction, so a snapshot is always consistent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from gateway import keys
from gateway.config import ca_bundles, documents, reconcile
from gateway.store import errors

CHANNEL = "tokenhub_config"


class CredentialCipher(Protocol):
    """Seals and opens credentials bound to their owning resource (the vault, seen from the store)."""

    def seal(self, ref: documents.ObjectRef, plaintext: bytes) -> bytes: ...

    def open(self, ref: documents.ObjectRef, sealed: bytes) -> bytes: ...


@dataclasses.dataclass(frozen=True, slots=True)
class CurrentState:
    revision: int
    objects: dict[documents.ObjectRef, reconcile.StoredObject]
    credentials: dict[documents.ObjectRef, bytes]  # opened plaintext, for comparison only
    keyed: frozenset[documents.ObjectRef] = frozenset()  # ApiKey resources holding a usable key


IssuedKeys = list[tuple[documents.ObjectRef, keys.IssuedKey]]
KeyDelivery = Callable[[IssuedKeys], None]
"""Hands freshly issued keys to their owners inside the transaction; raising rolls everything back."""


@dataclasses.dataclass(frozen=True, slots=True)
class ApplyResult:
    revision: int
    changes: reconcile.ChangeSet
    issued: tuple[documents.ObjectRef, ...] = ()

    @property
    def changed(self) -> bool:
        return not self.changes.empty


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeyRow:
    key_id: str
    secret_hash: bytes
    namespace: str
    name: str
    key_prefix: str
    created_at: dt.datetime
    valid_until: dt.datetime | None
    disabled: bool


@dataclasses.dataclass(frozen=True, slots=True)
class StoredConfig:
    """Everything a gateway needs to build a snapshot, read at one instant."""

    revision: int
    objects: dict[documents.ObjectRef, dict[str, Any]]
    sealed_credentials: dict[documents.ObjectRef, bytes]
    api_keys: tuple[ApiKeyRow, ...]
    vault_header: bytes | None


def _ref(row: tuple[Any, ...]) -> documents.ObjectRef:
    return documents.ObjectRef(row[0], row[1], row[2])


async def read_current(conn: psycopg.AsyncConnection[Any], cipher: CredentialCipher | None) -> CurrentState:
    cur = await conn.execute("SELECT revision FROM config_revision FOR UPDATE")
    row = await cur.fetchone()
    assert row is not None, "config_revision is seeded by the first migration"
    cur = await conn.execute("SELECT kind, namespace, name, spec_hash, owner FROM config_objects")
    objects = {}
    for r in await cur.fetchall():
        ref = _ref(r)
        objects[ref] = reconcile.StoredObject(ref, r[3], r[4])
    credentials: dict[documents.ObjectRef, bytes] = {}
    if cipher is not None:
        cur = await conn.execute("SELECT kind, namespace, name, sealed FROM credentials")
        for r in await cur.fetchall():
            credentials[_ref(r)] = cipher.open(_ref(r), bytes(r[3]))
    cur = await conn.execute(
        "SELECT DISTINCT namespace, name FROM api_keys WHERE NOT disabled"
        " AND (valid_until IS NULL OR valid_until > now())"
    )
    keyed = frozenset(documents.ObjectRef("ApiKey", r[0], r[1]) for r in await cur.fetchall())
    return CurrentState(int(row[0]), objects, credentials, keyed)


async def _write(
    conn: psycopg.AsyncConnection[Any],
    changes: reconcile.ChangeSet,
    revision: int,
    owner: str,
    cipher: CredentialCipher | None,
) -> None:
    for obj in changes.upserts:
        await conn.execute(
            "INSERT INTO config_objects (kind, namespace, name, spec, spec_hash, owner, generation, revision)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (kind, namespace, name) DO UPDATE SET spec = EXCLUDED.spec,"
            " spec_hash = EXCLUDED.spec_hash, owner = EXCLUDED.owner, generation = EXCLUDED.generation,"
            " revision = EXCLUDED.revision, updated_at = now()",
            (
                obj.ref.kind,
                obj.ref.namespace,
                obj.ref.name,
                Jsonb(obj.spec),
                obj.spec_hash,
                owner,
                obj.generation,
                revision,
            ),
        )
    for ref in changes.deletes:
        params = (ref.kind, ref.namespace, ref.name)
        await conn.execute("DELETE FROM config_objects WHERE kind = %s AND namespace = %s AND name = %s", params)
        await conn.execute("DELETE FROM credentials WHERE kind = %s AND namespace = %s AND name = %s", params)
        if ref.kind == "Provider":
            bundle = ca_bundles.ref_of(ref)
            await conn.execute(
                "DELETE FROM credentials WHERE kind = %s AND namespace = %s AND name = %s",
                (bundle.kind, bundle.namespace, bundle.name),
            )
        if ref.kind == "ApiKey":
            await conn.execute("DELETE FROM api_keys WHERE namespace = %s AND name = %s", (ref.namespace, ref.name))
    for change in changes.credentials:
        params = (change.ref.kind, change.ref.namespace, change.ref.name)
        if change.plaintext is None:
            await conn.execute("DELETE FROM credentials WHERE kind = %s AND namespace = %s AND name = %s", params)
            continue
        if cipher is None:
            raise errors.StoreError("a credential change needs the vault")
        await conn.execute(
            "INSERT INTO credentials (kind, namespace, name, sealed, revision) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (kind, namespace, name) DO UPDATE SET sealed = EXCLUDED.sealed,"
            " revision = EXCLUDED.revision, updated_at = now()",
            (*params, cipher.seal(change.ref, change.plaintext), revision),
        )


async def bump_revision(conn: psycopg.AsyncConnection[Any], revision: int) -> None:
    """Record a new revision and notify listeners; both take effect at commit."""
    await conn.execute("UPDATE config_revision SET revision = %s, updated_at = now()", (revision,))
    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(revision)))


async def insert_key(
    conn: psycopg.AsyncConnection[Any], ref: documents.ObjectRef, key: keys.IssuedKey, revision: int
) -> None:
    """Store an issued key's public id and hash (never the key) for its ApiKey resource."""
    await conn.execute(
        "INSERT INTO api_keys (key_id, secret_hash, namespace, name, key_prefix, revision)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (key.public_id, key.secret_hash, ref.namespace, ref.name, keys.display_prefix(key.full_key), revision),
    )


async def _issue(
    conn: psycopg.AsyncConnection[Any], refs: tuple[documents.ObjectRef, ...], revision: int
) -> IssuedKeys:
    issued = []
    for ref in refs:
        key = keys.generate()
        await insert_key(conn, ref, key, revision)
        issued.append((ref, key))
    return issued


async def apply(
    url: str,
    planner: Callable[[CurrentState], reconcile.ChangeSet],
    *,
    owner: str,
    cipher: CredentialCipher | None = None,
    deliver_keys: KeyDelivery | None = None,
) -> ApplyResult:
    """Plan against the stored state and write the result atomically; a no-op keeps the revision.

    Keys the plan asks for are issued in the same transaction and handed to ``deliver_keys`` before the commit,
    so a key is either stored and delivered, or neither.
    """
    try:
        async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
            current = await read_current(conn, cipher)
            changes = planner(current)
            if changes.empty:
                return ApplyResult(current.revision, changes)
            revision = current.revision + 1
            await _write(conn, changes, revision, owner, cipher)
            issued = await _issue(conn, changes.issue_keys, revision)
            if issued:
                if deliver_keys is None:
                    raise errors.StoreError("keys were issued but nobody receives them")
                deliver_keys(issued)
            await bump_revision(conn, revision)
            return ApplyResult(revision, changes, tuple(ref for ref, _ in issued))
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot write configuration: {exc}") from exc


async def load(conn: psycopg.AsyncConnection[Any]) -> StoredConfig:
    """Read the whole configuration at one instant (the caller opens the connection)."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur = await conn.execute("SELECT revision FROM config_revision")
        row = await cur.fetchone()
        assert row is not None
        cur = await conn.execute("SELECT kind, namespace, name, spec FROM config_objects")
        objects = {_ref(r): r[3] for r in await cur.fetchall()}
        cur = await conn.execute("SELECT kind, namespace, name, sealed FROM credentials")
        sealed = {_ref(r): bytes(r[3]) for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT key_id, secret_hash, namespace, name, key_prefix, created_at, valid_until, disabled FROM api_keys"
        )
        keys = tuple(ApiKeyRow(r[0], bytes(r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in await cur.fetchall())
        cur = await conn.execute("SELECT header FROM vault")
        vault_row = await cur.fetchone()
    return StoredConfig(int(row[0]), objects, sealed, keys, bytes(vault_row[0]) if vault_row else None)


async def current_revision(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT revision FROM config_revision")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def owner_of(conn: psycopg.AsyncConnection[Any], ref: documents.ObjectRef) -> str | None:
    """Who wrote the object (``cli``, ``standalone``, the operator), or None when it is not stored."""
    cur = await conn.execute(
        "SELECT owner FROM config_objects WHERE kind = %s AND namespace = %s AND name = %s",
        (ref.kind, ref.namespace, ref.name),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


async def object_exists(url: str, ref: documents.ObjectRef) -> bool:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT 1 FROM config_objects WHERE kind = %s AND namespace = %s AND name = %s",
            (ref.kind, ref.namespace, ref.name),
        )
        return await cur.fetchone() is not None


async def namespace_specs(url: str, namespace: str) -> dict[documents.ObjectRef, dict[str, Any]]:
    """The stored specs of one namespace: what an object is compiled against when the operator checks it."""
    try:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cur = await conn.execute(
                "SELECT kind, namespace, name, spec FROM config_objects WHERE namespace = %s", (namespace,)
            )
            return {_ref(row): row[3] for row in await cur.fetchall()}
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot read configuration: {exc}") from exc
