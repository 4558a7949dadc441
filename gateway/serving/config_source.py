"""Where a gateway's configuration comes from: load it from Postgres, open credentials, compile, swap.

The current snapshot is a single reference replaced atomically; a request takes the reference once at its start
and keeps using that snapshot to its end, so a reload never changes configuration under a running request.
A reload that fails keeps the previous snapshot and is counted, never half-applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway.config import snapshot
from gateway.observability import metrics as metrics_mod
from gateway.store import config_repo, errors, pool, vault_repo

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


def compile_stored(
    stored: config_repo.StoredConfig, cipher: config_repo.CredentialCipher | None
) -> snapshot.ConfigSnapshot:
    """Open the sealed credentials and compile everything into a snapshot."""
    credentials: dict[snapshot.Ref, str] = {}
    if stored.sealed_credentials:
        if cipher is None:
            raise errors.VaultMismatch("credentials are stored but no vault password is configured")
        credentials = {ref: cipher.open(ref, sealed).decode() for ref, sealed in stored.sealed_credentials.items()}
    return snapshot.compile_snapshot(stored.revision, stored.objects, credentials, _key_records(stored))


class ConfigHolder:
    """Holds the current snapshot and reloads it when the stored revision moves."""

    def __init__(
        self,
        db: pool.Database,
        password: str | None,
        metrics: metrics_mod.Metrics,
    ) -> None:
        self._db = db
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
                async with self._db.connection("cannot load configuration") as conn:
                    stored = await config_repo.load(conn)
                # Decryption and compilation are CPU-bound; keep them off the event loop.
                compiled = await asyncio.to_thread(self._compile, stored)
            except Exception:
                self._metrics.config_reloads.labels("error").inc()
                raise
            for problem in compiled.problems:
                log.warning("config revision %d: %s", compiled.revision, problem)
            self.current = compiled
            for listener in self._listeners:
                listener(compiled)
            self._metrics.config_reloads.labels("ok").inc()
            self._metrics.config_revision.set(compiled.revision)
            self._metrics.config_routable_models.set(compiled.routable_models)
            log.info("serving config revision %d (%d routable models)", compiled.revision, compiled.routable_models)
            return compiled

    async def on_revision(self, revision: int) -> bool:
        """Listener callback: reload; a store failure is logged and the revision offered again at the next poll.

        Anything else (a bug, an object that cannot be compiled) propagates to the listener's supervisor, which
        logs it with its traceback, counts it and restarts the listener; meanwhile the previous snapshot serves.
        """
        try:
            await self.reload(revision)
        except errors.StoreError as exc:
            log.error("config reload to revision %d failed, still serving the previous one: %s", revision, exc)
            return False
        return True
