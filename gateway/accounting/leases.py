"""One replica's lease manager: admits from the local ledger, tops leases up in the background, hands them back.

The request path awaits Postgres only when the replica holds nothing for a key (its first request, or after a
burst drained the lease); concurrent requests for that key share one grant and wait at most
``acquire_timeout_s``. When Postgres cannot be reached and nothing is held, requests are refused (fail closed)
unless ``fail_open`` is set, in which case they are admitted unleased and still charged. The two background
loops (``run_refills``, ``run_upkeep``) are run by the owner's supervisor, and stopped before ``close``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal

from gateway.accounting import backend as backend_mod
from gateway.accounting import ledger as ledger_mod
from gateway.accounting import sizing
from gateway.accounting.values import (
    ZERO,
    Charge,
    Estimate,
    KeyRef,
    Limits,
    Refusal,
    Reservation,
    Shortfall,
    period_of,
    window_of,
)
from gateway.store import errors as store_errors
from gateway.store.leases_repo import BudgetKey, WindowAsk

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class LeaseSettings:
    ttl_s: float = 120.0  # a budget lease not renewed for this long may be reclaimed by others
    heartbeat_s: float = 30.0  # renew leases, hand back idle ones, forget old windows
    sweep_every_s: float = 60.0
    sweep_grace_s: float = 30.0  # reclaim only leases expired this long ago: covers clock skew between pods
    idle_release_s: float = 120.0  # hand back the budget of keys unused for this long
    acquire_timeout_s: float = 2.0  # the longest a request waits for a first grant
    retry_s: float = 1.0  # background refills pause this long after the store failed
    prefetch_s: float = 10.0  # fetch the next minute's rate grant this long before it starts
    fail_open: bool = False
    sizing: sizing.Sizing = dataclasses.field(default_factory=sizing.Sizing)


@dataclasses.dataclass(slots=True)
class LeaseStats:
    admitted: int = 0
    admitted_unleased: int = 0  # fail-open admissions while the store was unreachable
    refused: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    refused_keys: collections.Counter[tuple[KeyRef, str]] = dataclasses.field(default_factory=collections.Counter)
    spent: dict[KeyRef, tuple[str, Decimal]] = dataclasses.field(default_factory=dict)  # period, fleet spend
    waited: int = 0  # admissions that had to wait for a grant
    grants: int = 0  # calls to the store for budget or window grants
    store_failures: int = 0
    reclaimed: int = 0  # expired leases of other replicas this one swept


class LeaseManager:
    def __init__(
        self,
        backend: backend_mod.LeaseBackend,
        *,
        holder: str,
        settings: LeaseSettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings or LeaseSettings()
        self.holder = holder
        self.stats = LeaseStats()
        self._backend = backend
        self._clock = clock
        self._ledger = ledger_mod.Ledger(holder, self.settings.sizing)
        self._limits: dict[KeyRef, Limits] = {}
        self._inflight: dict[KeyRef, asyncio.Task[None]] = {}
        self._pending: set[KeyRef] = set()
        self._wake = asyncio.Event()
        self._last_sweep: dt.datetime | None = None

    @property
    def statements(self) -> int:
        return self._backend.statements

    @property
    def ledger(self) -> ledger_mod.Ledger:
        return self._ledger

    # -- the request path -------------------------------------------------------------------------------------

    def try_admit(self, key: KeyRef, limits: Limits, estimate: Estimate) -> Reservation | Refusal | Shortfall:
        """Admit from held leases only, without awaiting anything; ``Shortfall`` means call ``admit``."""
        now = self._clock()
        self._limits[key] = limits
        verdict = self._ledger.admit(key, limits, estimate, now)
        if isinstance(verdict, Reservation):
            self.stats.admitted += 1
            self._signal(key, now)
        elif isinstance(verdict, Refusal):
            self.stats.refused[verdict.reason] += 1
            self.stats.refused_keys[key, verdict.reason] += 1
        return verdict

    async def admit(self, key: KeyRef, limits: Limits, estimate: Estimate) -> Reservation | Refusal:
        """Reserve ``estimate`` for one request; awaits the store only when nothing is held for the key."""
        verdict = self.try_admit(key, limits, estimate)
        if not isinstance(verdict, Shortfall):
            return verdict
        return await self._await_grants(key, verdict, lambda: self.try_admit(key, limits, estimate), estimate)

    async def extend(self, reservation: Reservation, cost_usd: Decimal) -> Reservation | Refusal:
        """Grow an open reservation's budget by ``cost_usd``, like ``admit`` (the store only when not held)."""

        def attempt() -> Reservation | Refusal | Shortfall:
            verdict = self._ledger.extend(reservation, cost_usd, self._clock())
            if isinstance(verdict, Refusal):
                self.stats.refused[verdict.reason] += 1
            return verdict

        verdict = attempt()
        if not isinstance(verdict, Shortfall):
            return verdict
        return await self._await_grants(reservation.key, verdict, attempt, None)

    async def _await_grants(
        self,
        key: KeyRef,
        verdict: Shortfall,
        retry: Callable[[], Reservation | Refusal | Shortfall],
        estimate: Estimate | None,
    ) -> Reservation | Refusal:
        """Take grants until ``retry`` admits or refuses, the store is unreachable, or the deadline passes;
        ``estimate`` is what to admit unleased when the store is unreachable and ``fail_open`` is set."""
        limits = self._limits[key]
        self.stats.waited += 1
        reachable = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.acquire_timeout_s
        # Each round takes a grant (shared with every request waiting on the key) and tries again; it ends when
        # the store says the resource is gone (a Refusal), it cannot be reached, or the deadline passes.
        while reachable and loop.time() < deadline:
            try:
                await asyncio.wait_for(asyncio.shield(self._grant(key, verdict)), deadline - loop.time())
            except (store_errors.StoreError, TimeoutError) as exc:
                if isinstance(exc, store_errors.StatementRejected):
                    log.error("lease grant for %s/%s refused by the store: %s", key.namespace, key.name, exc)
                reachable = False
            retried = retry()
            if not isinstance(retried, Shortfall):
                return retried
            verdict = retried
        if not reachable and self.settings.fail_open and estimate is not None:
            admitted = self._ledger.admit(key, limits, estimate, self._clock(), leased=False)
            assert isinstance(admitted, Reservation)
            self.stats.admitted += 1
            self.stats.admitted_unleased += 1
            return admitted
        refusal = self._refusal(reachable)
        self.stats.refused[refusal.reason] += 1
        self.stats.refused_keys[key, refusal.reason] += 1
        return refusal

    def _refusal(self, reachable: bool) -> Refusal:
        """Why a request still short when the rounds ended is refused: never "spent" on a guess.

        A key whose budget or window the store reports gone is refused by ``try_admit`` itself; here the store was
        unreachable, or it answered but the grants that could be had before the deadline did not cover the
        request (other requests and replicas took them first): both are for a retry, not a limit reached.
        """
        if not reachable:
            message = "limits cannot be checked: the accounting store is unreachable and no lease is held for this key"
        else:
            message = f"the key's limits could not be confirmed within {self.settings.acquire_timeout_s:g}s; retry"
        return Refusal("unavailable", message, self.settings.retry_s)

    def settle(self, reservation: Reservation, cost_usd: Decimal, tokens: int) -> Charge | None:
        """Record the actual cost and tokens; the returned charge goes into the log writer's transaction."""
        return self._ledger.settle(reservation, cost_usd, tokens)

    def cancel(self, reservation: Reservation) -> None:
        """The request never reached a provider: nothing is charged and its request slot comes back."""
        self._ledger.cancel(reservation)

    # -- grants -----------------------------------------------------------------------------------------------

    def _signal(self, key: KeyRef, now: dt.datetime) -> None:
        if key not in self._pending and key not in self._inflight and self._ledger.wants(key, now) is not None:
            self._pending.add(key)
            self._wake.set()

    def _grant(self, key: KeyRef, need: Shortfall | None) -> asyncio.Task[None]:
        """One grant per key at a time: whoever asks while it runs shares it."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._acquire(key, need), name=f"lease-grant-{key.name}")
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        return task

    async def _acquire(self, key: KeyRef, need: Shortfall | None) -> None:
        limits = self._limits[key]
        now = self._clock()
        wants = self._ledger.wants(key, now, prefetch_s=self.settings.prefetch_s) or ledger_mod.Wants()
        need = need or Shortfall()
        policy = self.settings.sizing
        if limits.budget_usd is not None and (need.budget_usd > 0 or wants.budget_usd > 0):
            period = wants.period or period_of(now)
            want = max(wants.budget_usd, need.budget_usd)
            self.stats.grants += 1
            expires = now + dt.timedelta(seconds=self.settings.ttl_s)
            grant = await self._backend.acquire_budget(
                BudgetKey(key.namespace, key.name, period),
                holder=self.holder,
                limit=limits.budget_usd,
                expires_at=expires,
                size=lambda free: sizing.share(policy, free, need.budget_usd, want),
            )
            self._ledger.grant_budget(key, period, grant.amount, grant.free, expires, self._clock())
            self.stats.spent[key] = (period, grant.spent)
        if need.requests or need.tokens or wants.requests or wants.tokens:
            window = window_of(now) if need.requests or need.tokens else (wants.window or window_of(now))
            ask = WindowAsk(
                want_requests=max(wants.requests, need.requests) if limits.rpm else 0,
                need_requests=need.requests,
                want_tokens=max(wants.tokens, need.tokens) if limits.tpm else 0,
                need_tokens=need.tokens,
                divisor=policy.divisor,
            )
            self.stats.grants += 1
            got = await self._backend.acquire_window(
                key.namespace, key.name, window, rpm=limits.rpm, tpm=limits.tpm, ask=ask
            )
            self._ledger.grant_window(key, window, got.requests, got.tokens, got.requests_left, got.tokens_left)

    async def run_refills(self) -> None:
        """Background loop: take the grants that admissions signalled (the next chunk before this one runs out)."""
        if self._pending:
            self._wake.set()  # keys signalled before a previous run of this loop failed are still waiting
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                key = self._pending.pop()
                try:
                    await self._grant(key, None)
                except store_errors.StoreUnavailable as exc:
                    self.stats.store_failures += 1
                    log.warning("lease refill for %s/%s failed: %s", key.namespace, key.name, exc)
                    await asyncio.sleep(self.settings.retry_s)

    # -- upkeep -----------------------------------------------------------------------------------------------

    async def heartbeat(self) -> None:
        """Renew held leases, hand back budget of idle keys and past periods, forget past windows."""
        now = self._clock()
        self._ledger.forget_old(now)
        until = now + dt.timedelta(seconds=self.settings.ttl_s)
        renewed = await self._backend.renew(holder=self.holder, now=now, expires_at=until)
        self._ledger.renewed({(KeyRef(k.namespace, k.name), k.period) for k in renewed}, until)
        await self._release(self._ledger.take_releasable(now, self.settings.idle_release_s))

    async def sweep(self) -> int:
        """Reclaim leases of replicas that stopped renewing them; returns how many."""
        now = self._clock()
        cutoff = now - dt.timedelta(seconds=self.settings.sweep_grace_s)
        reclaimed = await self._backend.sweep(cutoff=cutoff, oldest_window=window_of(now) - 2)
        self.stats.reclaimed += reclaimed
        self._last_sweep = now
        return reclaimed

    async def _release(self, taken: list[tuple[KeyRef, str, Decimal]]) -> None:
        for index, (key, period, amount) in enumerate(taken):
            try:
                await self._backend.release_budget(
                    BudgetKey(key.namespace, key.name, period), holder=self.holder, amount=amount
                )
            except store_errors.StoreError:
                for k, p, a in taken[index:]:
                    self._ledger.restore(k, p, a)
                raise

    async def run_upkeep(self) -> None:
        """Background loop: ``heartbeat`` every ``heartbeat_s`` and ``sweep`` every ``sweep_every_s``."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                await self.heartbeat()
                now = self._clock()
                if self._last_sweep is None or (now - self._last_sweep).total_seconds() >= self.settings.sweep_every_s:
                    await self.sweep()
            except store_errors.StoreUnavailable as exc:
                self.stats.store_failures += 1
                log.warning("lease upkeep failed: %s", exc)

    async def close(self, *, release: bool = True) -> None:
        """Stop grants in flight and hand back every lease this replica holds.

        Call it after the background loops stopped, the server stopped admitting and the log writer flushed:
        handing back everything is exact only when every charge is written. ``release=False`` just stops, as a
        crash would (for tests).
        """
        grants = list(self._inflight.values())
        for task in grants:
            task.cancel()
        await asyncio.gather(*grants, return_exceptions=True)
        try:
            if release:
                for key in await self._backend.held_by(self.holder):
                    await self._backend.release_budget(key, holder=self.holder, amount=None)
        except store_errors.StoreError as exc:
            log.warning("could not hand back leases (they expire and are swept): %s", exc)
        finally:
            await self._backend.close()

    def held(self, key: KeyRef) -> Decimal:
        """Budget this replica holds free for ``key`` in the current period (for tests and status)."""
        now = self._clock()
        state = self._ledger.state(key, self._limits.get(key, Limits()))
        budget = state.budgets.get(period_of(now))
        return budget.usable(now) if budget else ZERO
