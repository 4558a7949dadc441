"""Where a gateway's configuration comes from: load it from Postgres, open credentials, compile, swap.

The current snapshot is a single reference replaced atomically; a request takes the reference once at its start
and keeps using that snapshot to its end, so a reload never changes configuration under a running request.
A reload that fails keeps the previous snapshot and is counted, never half-applied. One object that does not
compile (a credential that does not open, a spec this version cannot read) fails no reload: it is left out,
logged as an error naming it, counted in ``tokenhub_config_object_errors`` and listed in the snapshot. The holder
also remembers when its revision was last confirmed current (a reload, or a poll or notification finding nothing
newer): the age of that confirmation is how stale the served config may be (``tokenhub_config_age_seconds``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from gateway import vault
from gateway.config import snapshot, specs
from gateway.observability import metrics as metrics_mod
from gateway.serving import routing_tables
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

    def __init__(
        self,
        db: pool.Database,
        password: str | None,
        metrics: metrics_mod.Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._password = password
        self._metrics = metrics
        self._clock = clock
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[snapshot.ConfigSnapshot], None]] = []
        self.current: snapshot.ConfigSnapshot | None = None
        self._cipher: tuple[bytes, vault_repo.VaultCipher] | None = None
        self._confirmed_at: float | None = None
        self.last_error: str | None = None  # why the last reload failed, until a revision is confirmed again
        metrics.config_age.set_function(lambda: self.age() or 0.0)

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
        """Call ``listener`` with every new snapshot (to rebuild derived state such as provider adapters).

        Listeners run before the snapshot is swapped in; if one raises, the reload fails as a whole and the same
        revision is offered to every listener again at the next attempt, so they must be idempotent.
        """
        self._listeners.append(listener)

    def confirm(self, revision: int) -> None:
        """The store's newest revision is ``revision``, and this holder serves it (or a newer one)."""
        if self.current is not None and self.current.revision >= revision:
            self._confirmed_at = self._clock()
            self.last_error = None

    def age(self) -> float | None:
        """Seconds since the served revision was last confirmed current; None before the first load."""
        return None if self._confirmed_at is None else self._clock() - self._confirmed_at

    async def reload(self, revision: int | None = None) -> snapshot.ConfigSnapshot:
        async with self._lock:
            current = self.current
            if current is not None and revision is not None and current.revision >= revision:
                return current
            started = time.perf_counter()
            try:
                async with self._db.connection("cannot load configuration") as conn:
                    stored = await config_repo.load(conn)
                # Decryption and compilation are CPU-bound; keep them off the event loop.
                compiled = await asyncio.to_thread(self._compile, stored)
                for listener in self._listeners:  # derived state first: the swap below is the commit point
                    listener(compiled)
            except Exception as exc:
                self._metrics.config_reloads.labels("error").inc()
                self._metrics.config_reload_duration.labels("error").observe(time.perf_counter() - started)
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            report(compiled, self._metrics)
            self.current = compiled
            self.confirm(compiled.revision)
            self._metrics.config_reloads.labels("ok").inc()
            self._metrics.config_reload_duration.labels("ok").observe(time.perf_counter() - started)
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
