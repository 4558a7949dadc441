"""Where a gateway's configuration comes from: load it from Postgres, open credentials, compile, swap.

The current snapshot is a single reference replaced atomically; a request takes the reference once at its start
and keeps using that snapshot to its end, so a reload never changes configuration under a running request.
A reload that fails keeps the previous snapshot and is counted, never half-applied. One object that does not
compile (a credential that does not open, a spec this version cannot read) fails no reload: it is left out,
logged as an error naming it, counted in ``tokenhub_config_object_errors`` and listed in the snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg

from gateway import vault
from gateway.config import snapshot, specs
from gateway.observability import metrics as metrics_mod
from gateway.serving import routing_tables
from gateway.store import config_repo, errors, vault_repo

log = logging.getLogger(__name__)


def _key_records(stored: config_repo.StoredConfig) -> dict[snapshot.Ref, list[snapshot.KeyRecord]]:
    records: dict[snapshot.Ref, list[snapshot.KeyRecord]] = {}
    for row in stored.api_keys:
        records.setdefault(snapshot.Ref("ApiKey", row.namespace, row.name), []).append(
            snapshot.KeyRecord(
                row.key_id, row.secret_hash, row.key_prefix, row.created_at, row.valid_until, row.disabled
            )
        )
    return records


def _open_credentials(
    stored: config_repo.StoredConfig, cipher: config_repo.CredentialCipher | None
) -> tuple[dict[snapshot.Ref, bytes], dict[snapshot.Ref, str]]:
    """Each credential's plaintext, or why it does not open: one bad blob leaves only its provider unroutable."""
    if not stored.sealed_credentials:
        return {}, {}
    if cipher is None:
        raise errors.VaultMismatch("credentials are stored but no vault password is configured")
    opened: dict[snapshot.Ref, bytes] = {}
    failed: dict[snapshot.Ref, str] = {}
    for ref, sealed in stored.sealed_credentials.items():
        try:
            opened[ref] = cipher.open(ref, sealed)
        except vault.VaultError as exc:
            failed[ref] = str(exc)
        except Exception as exc:  # isolation: logged with its traceback, listed, provider unroutable
            log.exception("opening the credential of %s failed", ref)
            failed[ref] = f"{type(exc).__name__}: {exc}"
    return opened, failed


def compile_stored(
    stored: config_repo.StoredConfig, cipher: config_repo.CredentialCipher | None
) -> snapshot.ConfigSnapshot:
    """Open the sealed credentials and compile everything into a snapshot carrying its routing tables.

    Raises only for what concerns every object (no vault password for stored credentials); anything wrong with
    one object is in the snapshot's ``problems``.
    """
    opened, failed = _open_credentials(stored, cipher)
    compiled = snapshot.compile_snapshot(stored.revision, stored.objects, opened, _key_records(stored), failed)
    return routing_tables.attach(compiled)


def report(compiled: snapshot.ConfigSnapshot, metrics: metrics_mod.Metrics) -> None:
    """Make each object the snapshot leaves out (or partly ignores) visible: an error log naming it, a gauge."""
    for problem in compiled.problems:
        log.error("config revision %d: %s (%s)", compiled.revision, problem, problem.reason)
    for kind in specs.KINDS:
        count = len({p.ref for p in compiled.problems if p.ref.kind == kind})
        metrics.config_object_errors.labels(kind).set(count)


class ConfigHolder:
    """Holds the current snapshot and reloads it when the stored revision moves."""

    def __init__(self, url: str, password: str | None, metrics: metrics_mod.Metrics) -> None:
        self._url = url
        self._password = password
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[snapshot.ConfigSnapshot], None]] = []
        self.current: snapshot.ConfigSnapshot | None = None
        self._cipher: tuple[bytes, vault_repo.VaultCipher] | None = None

    def _cipher_for(self, header: bytes | None) -> vault_repo.VaultCipher | None:
        """Unlock once per vault header: Argon2id is deliberately slow, reloads should not be."""
        if header is None or self._password is None:
            return None
        if self._cipher is None or self._cipher[0] != header:
            self._cipher = (header, vault_repo.cipher_for(header, self._password))
        return self._cipher[1]

    def _compile(self, stored: config_repo.StoredConfig) -> snapshot.ConfigSnapshot:
        return compile_stored(stored, self._cipher_for(stored.vault_header))

    def subscribe(self, listener: Callable[[snapshot.ConfigSnapshot], None]) -> None:
        """Call ``listener`` with every new snapshot (to rebuild derived state such as provider adapters)."""
        self._listeners.append(listener)

    async def reload(self, revision: int | None = None) -> snapshot.ConfigSnapshot:
        async with self._lock:
            current = self.current
            if current is not None and revision is not None and current.revision >= revision:
                return current
            try:
                async with await psycopg.AsyncConnection.connect(self._url) as conn:
                    stored = await config_repo.load(conn)
                # Decryption and compilation are CPU-bound; keep them off the event loop.
                compiled = await asyncio.to_thread(self._compile, stored)
            except psycopg.Error as exc:
                self._metrics.config_reloads.labels("error").inc()
                raise errors.StoreUnavailable(f"cannot load configuration: {exc}") from exc
            except errors.StoreError:
                self._metrics.config_reloads.labels("error").inc()
                raise
            report(compiled, self._metrics)
            self.current = compiled
            for listener in self._listeners:
                listener(compiled)
            self._metrics.config_reloads.labels("ok").inc()
            self._metrics.config_revision.set(compiled.revision)
            self._metrics.config_routable_models.set(compiled.routable_models)
            log.info("serving config revision %d (%d routable models)", compiled.revision, compiled.routable_models)
            return compiled

    async def on_revision(self, revision: int) -> bool:
        """Listener callback: reload; a failure is logged and the revision offered again at the next poll."""
        try:
            await self.reload(revision)
        except errors.StoreError as exc:
            log.error("config reload to revision %d failed, still serving the previous one: %s", revision, exc)
            return False
        return True
