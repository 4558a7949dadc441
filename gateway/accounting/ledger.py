"""One replica's local view of its leases: admits only from what it holds, with no I/O and time as an input.

Per key it holds a budget lease per period (``free`` = held, not reserved, not charged; negative when a request
cost more than its estimate) and request/token allowances per minute window. ``admit`` never creates budget:
it reserves from ``free`` or answers ``Shortfall`` (ask the store) or ``Refusal`` (the store said it is gone).
Settling moves a reservation to charged and frees the rest; grants and releases are the only other movements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

from gateway.accounting import errors, sizing
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
    seconds_to_next_window,
    window_of,
)


@dataclasses.dataclass(slots=True)
class Budget:
    period: str
    free: Decimal = ZERO
    reserved: Decimal = ZERO
    valid_until: dt.datetime | None = None
    exhausted_until: dt.datetime | None = None  # the store had nothing left; refuse without asking until then

    def usable(self, now: dt.datetime) -> Decimal:
        return self.free if self.valid_until is not None and now < self.valid_until else min(self.free, ZERO)


@dataclasses.dataclass(slots=True)
class Window:
    window: int
    requests: int = 0  # held and unused
    tokens: int = 0
    requests_gone: bool = False  # the store granted the last of this window
    tokens_gone: bool = False


@dataclasses.dataclass(slots=True)
class KeyState:
    limits: Limits
    budgets: dict[str, Budget] = dataclasses.field(default_factory=dict)
    windows: dict[int, Window] = dataclasses.field(default_factory=dict)
    spend: sizing.Rate = dataclasses.field(default_factory=sizing.Rate)
    requests: sizing.Rate = dataclasses.field(default_factory=sizing.Rate)
    tokens: sizing.Rate = dataclasses.field(default_factory=sizing.Rate)
    last_estimate: Estimate = dataclasses.field(default_factory=lambda: Estimate(ZERO, 0))
    last_seen: dt.datetime | None = None

    def window(self, window: int) -> Window:
        return self.windows.setdefault(window, Window(window))

    def budget(self, period: str) -> Budget:
        return self.budgets.setdefault(period, Budget(period))


@dataclasses.dataclass(frozen=True, slots=True)
class Wants:
    """What a background refill should ask the store for, per resource (zero: nothing)."""

    period: str | None = None
    budget_usd: Decimal = ZERO
    window: int | None = None
    requests: int = 0
    tokens: int = 0


class Ledger:
    def __init__(self, holder: str, policy: sizing.Sizing | None = None, recheck_s: float = 1.0) -> None:
        self.holder = holder
        self.policy = policy or sizing.Sizing()
        self._recheck = dt.timedelta(seconds=recheck_s)
        self._keys: dict[KeyRef, KeyState] = {}
        self._open: dict[str, Reservation] = {}
        self._seq = itertools.count(1)

    def state(self, key: KeyRef, limits: Limits) -> KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = KeyState(limits)
        state.limits = limits
        return state

    def keys(self) -> list[KeyRef]:
        return sorted(self._keys)

    def budgets(self, now: dt.datetime) -> list[tuple[KeyRef, Limits, Decimal, Decimal]]:
        """Per key: its limits and the budget of the current period it holds free and reserved (for metrics)."""
        period = period_of(now)
        found = []
        for key, state in self._keys.items():
            budget = state.budgets.get(period)
            found.append((key, state.limits, budget.free if budget else ZERO, budget.reserved if budget else ZERO))
        return found

    @property
    def open_reservations(self) -> int:
        return len(self._open)

    def admit(
        self, key: KeyRef, limits: Limits, estimate: Estimate, now: dt.datetime, *, leased: bool = True
    ) -> Reservation | Refusal | Shortfall:
        """Reserve ``estimate`` from what this replica holds; ``leased=False`` admits unconditionally (fail-open)."""
        state = self.state(key, limits)
        state.last_estimate = estimate  # sizes the first grant even before anything was admitted
        period = period_of(now) if limits.budget_usd is not None else None
        window = window_of(now) if limits.rpm is not None or limits.tpm is not None else None
        if leased:
            verdict = self._check(state, estimate, now, period, window)
            if verdict is not None:
                return verdict
        if period is not None:
            budget = state.budget(period)
            budget.free -= estimate.cost_usd
            budget.reserved += estimate.cost_usd
        if window is not None:
            held = state.window(window)
            held.requests -= 1 if limits.rpm is not None else 0
            held.tokens -= estimate.tokens if limits.tpm is not None else 0
        reservation = Reservation(
            f"{self.holder}:{next(self._seq)}", key, period, window, estimate.cost_usd, estimate.tokens, leased
        )
        self._open[reservation.id] = reservation
        t = now.timestamp()
        tau = self.policy.tau_s
        state.spend = state.spend.add(float(estimate.cost_usd), t, tau)
        state.requests = state.requests.add(1.0, t, tau)
        state.tokens = state.tokens.add(float(estimate.tokens), t, tau)
        state.last_seen = now
        return reservation

    def _check(
        self, state: KeyState, estimate: Estimate, now: dt.datetime, period: str | None, window: int | None
    ) -> Refusal | Shortfall | None:
        limits = state.limits
        short = Shortfall()
        if period is not None and limits.budget_usd is not None:
            if estimate.cost_usd > limits.budget_usd:
                return Refusal("budget", "the request's cost bound exceeds the key's whole monthly budget")
            budget = state.budget(period)
            usable = budget.usable(now)
            if estimate.cost_usd > usable:
                if budget.exhausted_until is not None and now < budget.exhausted_until:
                    return Refusal("budget", "the key's monthly budget is spent")
                short = dataclasses.replace(short, budget_usd=estimate.cost_usd - usable)
        if window is not None:
            held = state.window(window)
            retry = seconds_to_next_window(now)
            if limits.rpm is not None and held.requests < 1:
                if held.requests_gone:
                    return Refusal("rpm", f"the key's limit of {limits.rpm} requests per minute is reached", retry)
                short = dataclasses.replace(short, requests=1)
            if limits.tpm is not None and held.tokens < estimate.tokens:
                if estimate.tokens > limits.tpm:
                    return Refusal("tpm", "the request's token bound exceeds the key's tokens per minute")
                if held.tokens_gone:
                    return Refusal("tpm", f"the key's limit of {limits.tpm} tokens per minute is reached", retry)
                short = dataclasses.replace(short, tokens=estimate.tokens - max(held.tokens, 0))
        if short == Shortfall():
            return None
        return short

    def extend(
        self, reservation: Reservation, cost_usd: Decimal, now: dt.datetime
    ) -> Reservation | Refusal | Shortfall:
        """Grow an open reservation's budget by ``cost_usd`` (a failover after a charged attempt), from what is held.

        Only the budget grows: the request holds its rate slot already, and its tokens settle against its window.
        """
        held = self._open.get(reservation.id)
        if held is None:
            raise errors.AlreadySettled(reservation.id)
        if held.period is None or cost_usd <= 0:
            return held
        state = self._keys[held.key]
        if held.leased:
            verdict = self._check(state, Estimate(cost_usd, 0), now, held.period, None)
            if verdict is not None:
                return verdict
        budget = state.budget(held.period)
        budget.free -= cost_usd
        budget.reserved += cost_usd
        grown = dataclasses.replace(held, cost_usd=held.cost_usd + cost_usd)
        self._open[held.id] = grown
        return grown

    def settle(self, reservation: Reservation, cost_usd: Decimal, tokens: int) -> Charge | None:
        """Charge the actual cost; the unused part of the estimate becomes free again (the excess, a debt)."""
        stored = self._open.pop(reservation.id, None)
        if stored is None:
            raise errors.AlreadySettled(reservation.id)
        reservation = stored  # as last extended
        state = self._keys[reservation.key]
        if reservation.period is not None:
            budget = state.budget(reservation.period)
            budget.reserved -= reservation.cost_usd
            budget.free += reservation.cost_usd - cost_usd
        if reservation.window is not None and state.limits.tpm is not None:
            held = state.windows.get(reservation.window)
            if held is not None:
                held.tokens += reservation.tokens - tokens
        if reservation.period is None or cost_usd == 0:
            return None
        return Charge(reservation.id, reservation.key, reservation.period, self.holder, cost_usd)

    def cancel(self, reservation: Reservation) -> None:
        """The request never reached a provider: everything it reserved, its request slot too, comes back."""
        self.settle(reservation, ZERO, 0)
        held = self._keys[reservation.key].windows.get(reservation.window) if reservation.window else None
        if held is not None and self._keys[reservation.key].limits.rpm is not None:
            held.requests += 1

    def grant_budget(
        self, key: KeyRef, period: str, amount: Decimal, free_after: Decimal, valid_until: dt.datetime, now: dt.datetime
    ) -> None:
        budget = self._keys[key].budget(period)
        budget.free = budget.usable(now) + amount
        budget.valid_until = valid_until
        budget.exhausted_until = now + self._recheck if free_after <= 0 else None

    def grant_window(
        self, key: KeyRef, window: int, requests: int, tokens: int, requests_left: int | None, tokens_left: int | None
    ) -> None:
        held = self._keys[key].window(window)
        held.requests += requests
        held.tokens += tokens
        held.requests_gone = requests_left == 0
        held.tokens_gone = tokens_left == 0

    def wants(self, key: KeyRef, now: dt.datetime, *, prefetch_s: float = 10.0) -> Wants | None:
        """The background top-up for ``key`` when what it holds fell below the low-water mark, else None."""
        state = self._keys[key]
        policy = self.policy
        t = now.timestamp()
        limits = state.limits
        wants = Wants()
        if limits.budget_usd is not None:
            period = period_of(now)
            budget = state.budget(period)
            chunk = sizing.chunk_usd(policy, state.spend.value(t, policy.tau_s), state.last_estimate.cost_usd)
            usable = budget.usable(now)
            exhausted = budget.exhausted_until is not None and now < budget.exhausted_until
            if usable < chunk * Decimal(repr(policy.low_water)) and not exhausted:
                wants = dataclasses.replace(wants, period=period, budget_usd=chunk - usable)
        if limits.rpm is not None or limits.tpm is not None:
            window = window_of(now)
            if seconds_to_next_window(now) <= prefetch_s and window + 1 not in state.windows:
                window += 1  # the next minute, fetched ahead so its first requests need not wait
            held = state.windows.get(window) or Window(window)
            requests = sizing.chunk_count(policy, state.requests.value(t, policy.tau_s), 1) if limits.rpm else 0
            tokens = sizing.chunk_count(policy, state.tokens.value(t, policy.tau_s), state.last_estimate.tokens)
            tokens = tokens if limits.tpm else 0
            low = policy.low_water
            ask_r = requests - held.requests if held.requests < requests * low and not held.requests_gone else 0
            ask_t = tokens - held.tokens if held.tokens < tokens * low and not held.tokens_gone else 0
            if ask_r > 0 or ask_t > 0:
                wants = dataclasses.replace(wants, window=window, requests=max(ask_r, 0), tokens=max(ask_t, 0))
        return None if wants == Wants() else wants

    def reserved(self, key: KeyRef, period: str) -> Decimal:
        state = self._keys.get(key)
        budget = state.budgets.get(period) if state else None
        return budget.reserved if budget else ZERO

    def renewed(self, held: set[tuple[KeyRef, str]], valid_until: dt.datetime) -> None:
        """After a heartbeat: the leases the store extended stay valid longer; others expire as they were."""
        for key, state in self._keys.items():
            for period, budget in state.budgets.items():
                if (key, period) in held and budget.valid_until is not None:
                    budget.valid_until = max(budget.valid_until, valid_until)

    def take_releasable(self, now: dt.datetime, idle_s: float | None) -> list[tuple[KeyRef, str, Decimal]]:
        """Take the free part of leases to hand back: all of them (``idle_s`` None) or of idle keys and past
        periods. The caller returns them to the store, or ``restore``s them when the store cannot be reached."""
        taken = []
        current = period_of(now)
        for key, state in self._keys.items():
            idle = idle_s is None or state.last_seen is None or (now - state.last_seen).total_seconds() >= idle_s
            for period, budget in state.budgets.items():
                amount = budget.usable(now)
                if amount > 0 and (idle or period != current):
                    budget.free -= amount
                    taken.append((key, period, amount))
        return taken

    def restore(self, key: KeyRef, period: str, amount: Decimal) -> None:
        self._keys[key].budget(period).free += amount

    def forget_old(self, now: dt.datetime) -> None:
        """Drop windows that have passed and settled budgets of past periods."""
        window, current = window_of(now), period_of(now)
        for state in self._keys.values():
            for old in [w for w in state.windows if w < window]:
                del state.windows[old]
            for period in [p for p, b in state.budgets.items() if p != current and b.reserved == 0 and b.free <= 0]:
                del state.budgets[period]
