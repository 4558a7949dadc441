"""One chat request, whichever API it came in: pick candidates, send, fail over, relay, account.

Failover happens only before the first byte reaches the client. Upstream failures are classified once, by the
adapters; this module decides what each class means here: ``rate_limited`` cools the provider down and moves
on, ``transient`` retries a 5xx once after a jittered backoff and then moves on (timeouts move on at once),
``auth`` moves on, ``context_overflow`` moves on to a larger context window only, ``bad_request`` (the client's
own mistake) stops and is shown to the client, ``fatal`` (an answer no HTTP client could use) stops. A streamed
answer that breaks after the first byte ends with an error event and is still charged for what was produced.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Protocol, TypeVar

from gateway.config import snapshot, specs
from gateway.providers import base
from gateway.providers import errors as upstream_errors
from gateway.providers.wire import error_bodies
from gateway.providers.wire import errors as wire_errors
from gateway.providers.wire import usage as usage_mod
from gateway.routing import failover, modes
from gateway.serving import admission, attempt_charges, calls, dialects, errors, planning, relay, traced, upstreams

FORWARDED_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")


async def covers_failed_attempts(services: calls.Services, call: calls.Call, models: list[snapshot.ModelEntry]) -> bool:
    """Whether the reservation covers what failed attempts were charged plus the bound of trying ``models``; grown
    when it does not. False when the budget cannot cover it: the caller tries no further."""
    if call.failed_cost == 0 or call.reservation is None or call.body is None:
        return True
    grown = await admission.extend(services.leases, call.reservation, call.failed_cost, call.body, models)
    if grown is None:
        return False
    call.reservation = grown
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class Completion:
    body: bytes
    headers: dict[str, str]
    cost_usd: Decimal = Decimal(0)


@dataclasses.dataclass(frozen=True, slots=True)
class StreamStart:
    headers: dict[str, str]
    body: AsyncIterator[bytes]
    waits: bool  # whether relaying will wait on the upstream (false when its whole body has already arrived)


def input_estimate(call: calls.Call) -> int:
    """The prompt's tokens as routing counted them (``gateway.tokens``): charged when the upstream never says."""
    return call.route.limits.input_tokens if call.route is not None else 0


class _Failures:
    """What went wrong with each candidate, to choose the one error the client sees when all fail."""

    def __init__(self) -> None:
        self.last: upstream_errors.UpstreamError | wire_errors.Untranslatable | None = None
        self.rate_limited = 0
        self.cooling: list[float] = []
        self.overflow_window: int | None = None

    def final(self, requested: str) -> errors.RequestFailed:
        last = self.last
        if isinstance(last, upstream_errors.ContextOverflow) or (last is None and self.overflow_window):
            return errors.InvalidRequest(
                f"the request does not fit the context window of any model behind {requested!r}",
                param="messages",
                code="context_length_exceeded",
            )
        if last is None and self.cooling:
            return errors.RateLimited(
                f"every provider for {requested!r} is rate limited; retry later", retry_after=min(self.cooling)
            )
        if isinstance(last, upstream_errors.RateLimited) or (self.rate_limited and last is None):
            return errors.RateLimited(f"the providers for {requested!r} are rate limiting", retry_after=None)
        if isinstance(last, wire_errors.Untranslatable):
            return errors.InvalidRequest(last.message, param=last.param)
        if last is None:
            return errors.NoCapacity(f"no provider for {requested!r} is available right now")
        return errors.UpstreamFailed(
            f"every provider for {requested!r} failed; last: {last.provider}: {last.error_class}: {last.message}",
            error_class=last.error_class,
            # The gateway's own egress refused (policy, proxy, pool): say so in a code clients can switch on.
            code=last.error_class if isinstance(last, upstream_errors.GatewaySide) else None,
        )


def client_error(exc: upstream_errors.UpstreamError) -> errors.UpstreamFailed:
    """An upstream 4xx that was the client's fault, with the upstream's own message."""
    message = error_bodies.read(exc.body).message if exc.body else exc.message
    return errors.UpstreamFailed(message, error_class=exc.error_class, status=exc.status or 400)


def passthrough(call: calls.Call, dialect: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """The client's headers and query string that go to an upstream of the client's own API: Anthropic's
    ``anthropic-version``, the allowed ``anthropic-beta`` values and ``?beta=true``; nothing to any other."""
    if dialect == "anthropic" and call.api is dialects.ClientApi.ANTHROPIC:
        return tuple((k, v) for k, v in call.forward_headers if k in FORWARDED_ANTHROPIC_HEADERS), call.forward_query
    return (), ""


T = TypeVar("T")
RETRY = failover.FailoverSettings(backoff_base_s=0.05, backoff_max_s=0.5)


class StreamRelay(Protocol):
    """A stream translator as the pump drives it (``relay.Relay``, ``responses_relay.ResponsesRelay``)."""

    @property
    def usage(self) -> usage_mod.Usage: ...

    @property
    def upstream_error(self) -> str | None: ...

    @property
    def stop_reading(self) -> bool:
        """Whether no more upstream bytes are wanted: the stream failed, or the client's stream has ended."""
        ...

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self, broken: str | None = None) -> bytes: ...


class ChatFlow:
    def __init__(self, services: calls.Services, rng: random.Random | None = None) -> None:
        self._services = services
        self._rng = rng or random.Random()

    def _plan(self, call: calls.Call) -> list[planning.Candidate]:
        assert call.key is not None and call.body is not None
        call.key.require(specs.Scope.CHAT)
        hints = call.hints
        if hints is not None and hints.mode is modes.Mode.PLANNING:
            # The client asks for the planning mode (weighted towards the strongest models): what the `plan` scope
            # grants. A RoutingPolicy whose default is planning is the platform's choice, and needs no scope.
            call.key.require(specs.Scope.PLAN)
        snap = self._services.snapshot()
        routing = self._services.routing
        decided = routing.decide(
            call.key,
            call.body,
            call.request_id,
            mode=hints.mode if hints else None,
            max_budget_usd=hints.max_budget_usd if hints else None,
            max_latency_ms=hints.max_latency_ms if hints else None,
            min_weight=hints.min_weight if hints else None,
        )
        call.route = decided
        call.decision = decided.reason
        models = routing.model_entries(snap, call.key.namespace, decided)
        return [planning.Candidate(model, decided.reason) for model in models]

    def _outbound(self, call: calls.Call, candidate: planning.Candidate, stream: bool) -> base.UpstreamRequest:
        assert call.body is not None
        provider = candidate.model.provider
        dialect = upstreams.dialect(provider.spec.type)
        out = dialects.outbound(call.api, call.body, dialect, candidate.model.spec.upstream_model)
        forwarded, query = passthrough(call, dialect)
        return base.UpstreamRequest(out.path + query, out.body, call.request_id, stream=stream, headers=forwarded)

    def _usable(
        self, call: calls.Call, candidate: planning.Candidate, failures: _Failures
    ) -> base.ProviderAdapter | None:
        model = candidate.model
        pool = self._services.upstreams
        if failures.overflow_window is not None and model.spec.context_window <= failures.overflow_window:
            call.attempt(model, "skipped_context")
            return None
        remaining = self._services.routing.cooldown_remaining(model.provider.ref)
        if remaining > 0:
            failures.cooling.append(remaining)
            call.attempt(model, "skipped_cooldown")
            return None
        adapter = pool.get(model.provider.ref)
        if adapter is None:
            call.attempt(model, "skipped_unavailable")
        return adapter

    def _failed(
        self,
        call: calls.Call,
        candidate: planning.Candidate,
        exc: upstream_errors.UpstreamError,
        ms: float,
        failures: _Failures,
    ) -> None:
        model = candidate.model
        charged = attempt_charges.charged(exc, input_estimate(call))
        call.attempt(model, exc.error_class, status=exc.status, ms=ms, charged=charged)
        metrics = self._services.metrics
        metrics.child(metrics.upstream_attempts, model.provider.ref.name, exc.error_class).inc()
        failures.last = exc
        self._services.routing.failed(model.provider.ref, exc)
        self._learn(call, model, success=False, latency_s=ms / 1000)
        if isinstance(exc, upstream_errors.RateLimited):
            failures.rate_limited += 1
        elif isinstance(exc, upstream_errors.ContextOverflow):
            failures.overflow_window = max(failures.overflow_window or 0, model.spec.context_window)
        elif isinstance(exc, upstream_errors.BadRequest):
            raise client_error(exc) from exc
        elif isinstance(exc, upstream_errors.Fatal):
            raise errors.UpstreamFailed(
                f"{model.provider.ref.name} answered in a way TokenHub cannot use: {exc.message}",
                error_class=exc.error_class,
            ) from exc

    async def _maybe_retry(
        self,
        exc: upstream_errors.UpstreamError,
        candidate: planning.Candidate,
        pending: collections.deque[planning.Candidate],
        retried: set[snapshot.Ref],
    ) -> None:
        """A 5xx or 408 gets one more try on the same model after a jittered backoff, then the next candidate.

        Timeouts and refused connections go straight to the next candidate: retrying them here would only add
        their full delay again. A malformed success body moves on too: the same upstream would likely send it again.
        """
        retryable = isinstance(exc, upstream_errors.Transient) and not isinstance(
            exc, upstream_errors.ConnectFailed | upstream_errors.MalformedResponse
        )
        if not retryable or exc.status is None or candidate.model.ref in retried:
            return
        retried.add(candidate.model.ref)
        await asyncio.sleep(failover.backoff(1, RETRY, self._rng))
        pending.appendleft(candidate)

    def _learn(
        self, call: calls.Call, model: snapshot.ModelEntry, *, success: bool, latency_s: float, cost: float = 0.0
    ) -> None:
        """Feed the attempt's outcome to the bandit (what the thompson mode learns from)."""
        if call.route is not None:
            self._services.routing.rewarded(
                model.ref.namespace, call.route, model.ref.name, success=success, latency_s=latency_s, cost=cost
            )

    async def _run(
        self, call: calls.Call, attempt: Callable[[planning.Candidate, base.ProviderAdapter], Awaitable[T]]
    ) -> T:
        """Plan, admit, then try candidates in order (with one retry of a 5xx) until ``attempt`` succeeds."""
        assert call.body is not None and call.key is not None
        failures = _Failures()
        candidates = self._plan(call)
        call.reservation = await admission.admit(
            self._services.leases, call.key, call.body, [c.model for c in candidates]
        )
        pending = collections.deque(candidates)
        retried: set[snapshot.Ref] = set()
        while pending:
            candidate = pending.popleft()
            adapter = self._usable(call, candidate, failures)
            if adapter is None:
                continue
            if call.trace is not None:
                adapter = traced.Adapter(adapter, call.trace, candidate.model, "chat")
            sent = time.perf_counter()
            try:
                return await attempt(candidate, adapter)
            except wire_errors.Untranslatable as exc:
                call.attempt(candidate.model, "untranslatable")
                failures.last = exc
            except upstream_errors.UpstreamError as exc:
                call.upstream_wait_s += time.perf_counter() - sent
                self._failed(call, candidate, exc, (time.perf_counter() - sent) * 1000, failures)
                await self._maybe_retry(exc, candidate, pending, retried)
                if not await self._covered(call, pending):
                    break
        raise failures.final(call.body["model"])

    async def _covered(self, call: calls.Call, pending: collections.deque[planning.Candidate]) -> bool:
        """Whether the reservation covers the attempts charged so far and any next one (grown if need be)."""
        if not pending:
            return True
        if await covers_failed_attempts(self._services, call, [candidate.model for candidate in pending]):
            return True
        call.attempt(pending[0].model, "skipped_budget")
        return False

    def _succeeded(self, call: calls.Call, model: snapshot.ModelEntry, status: int, waited_s: float) -> None:
        call.attempt(model, "ok", status=status, ms=waited_s * 1000)
        metrics = self._services.metrics
        metrics.child(metrics.upstream_attempts, model.provider.ref.name, "ok").inc()
        self._services.routing.succeeded(model.provider.ref, waited_s)
        call.model = model

    async def complete(self, call: calls.Call) -> Completion:
        async def attempt(candidate: planning.Candidate, adapter: base.ProviderAdapter) -> Completion:
            assert call.body is not None
            model = candidate.model
            response = await adapter.send(self._outbound(call, candidate, stream=False))
            inbound = dialects.inbound(
                call.api,
                call.body,
                upstreams.dialect(model.provider.spec.type),
                response.body,
                provider=model.provider.ref.name,
                input_estimate=input_estimate(call),
            )
            call.upstream_wait_s += response.elapsed_s  # after the body proved usable: a failure counts it in _run
            self._succeeded(call, model, response.status, response.elapsed_s)
            headers = call.headers()
            cost = calls.finish(self._services, call, status=200, counted=inbound.usage)
            self._learn(call, model, success=True, latency_s=response.elapsed_s, cost=float(cost))
            return Completion(inbound.body, headers, cost)

        return await self._run(call, attempt)

    async def stream(self, call: calls.Call) -> StreamStart:
        async def attempt(candidate: planning.Candidate, adapter: base.ProviderAdapter) -> StreamStart:
            assert call.body is not None
            model = candidate.model
            upstream = await adapter.open_stream(self._outbound(call, candidate, stream=True))
            call.upstream_wait_s += upstream.first_byte_s
            self._succeeded(call, model, upstream.status, upstream.first_byte_s)
            self._learn(call, model, success=True, latency_s=upstream.first_byte_s)
            state = relay.Relay(call.api, upstreams.dialect(model.provider.spec.type), call.body, input_estimate(call))
            headers = call.headers()
            return StreamStart(headers, self._pump(call, upstream, state, call.overhead_ms()), not upstream.complete)

        return await self._run(call, attempt)

    async def _pump(
        self,
        call: calls.Call,
        upstream: base.UpstreamStream,
        state: StreamRelay,
        head_overhead_ms: float,
        on_delivered: Callable[[], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """Relay the stream; whatever happens - end, break, client gone - the request is logged once, and
        ``on_delivered`` runs once the client has had the whole stream.

        Overhead counts the time to the response head plus the time spent converting chunks, not the time the
        generator waits for the client to read.
        """
        ttft: float | None = None
        client_gone = True
        broken: str | None = None
        processing_s = 0.0
        last = b""  # the output of the body's final chunk, sent together with the stream's ending
        try:
            iterator = upstream.__aiter__()
            while True:
                waited = time.perf_counter()
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                except upstream_errors.StreamBroken as exc:
                    broken = f"the upstream stream broke off: {exc.message}"
                    break
                began = time.perf_counter()
                call.upstream_wait_s += began - waited
                out = state.feed(chunk)
                processing_s += time.perf_counter() - began
                if out and ttft is None:
                    ttft = call.elapsed_s()
                if upstream.exhausted or state.stop_reading:
                    last = out
                    break
                if out:
                    yield out
            began = time.perf_counter()
            ending = relay.Ending(last + state.finish(broken))
            processing_s += time.perf_counter() - began
            yield ending
            client_gone = False
        finally:
            await upstream.aclose()
            error = state.upstream_error
            status = 499 if client_gone else (502 if error else 200)
            error_class = errors.CLIENT_CLOSED if client_gone else (errors.STREAM_BROKEN if error else None)
            calls.finish(
                self._services,
                call,
                status=status,
                error_class=error_class,
                error_message=error,
                counted=state.usage,
                ttft_s=ttft,
                overhead_ms=head_overhead_ms + processing_s * 1000,
            )
            if on_delivered is not None and not client_gone:
                on_delivered()
