"""The state of one client request from arrival to its request-log row, and how that row is written.

Every request ends in exactly one ``finish`` call - success, upstream failure, refusal at the door or a client
that went away - which writes one log row and the request metrics, so nothing is lost and nothing counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from decimal import Decimal
from typing import Any

from gateway.accounting import leases as leases_mod
from gateway.accounting import pricing, values
from gateway.config import snapshot
from gateway.observability import metrics as metrics_mod
from gateway.observability import tracing
from gateway.providers.wire import usage as usage_mod
from gateway.routing import decision as decisions
from gateway.serving import anthropic_betas, auth, config_source, logwriter, native, routing_state, upstreams
from gateway.serving.dialects import ClientApi
from gateway.store import logs_repo


@dataclasses.dataclass(frozen=True)
class Services:
    """What a request needs from its replica; built once by the app."""

    config: config_source.ConfigHolder
    upstreams: upstreams.UpstreamPool
    routing: routing_state.RoutingState
    leases: leases_mod.LeaseManager
    logs: logwriter.LogWriter
    metrics: metrics_mod.Metrics
    anthropic_betas: anthropic_betas.BetaPolicy = dataclasses.field(default_factory=anthropic_betas.BetaPolicy)

    def snapshot(self) -> snapshot.ConfigSnapshot:
        current: snapshot.ConfigSnapshot | None = self.config.current
        if current is None:
            raise RuntimeError("no configuration loaded yet")  # the app is not ready; never reached via HTTP
        return current


@dataclasses.dataclass
class Call:
    api: ClientApi
    endpoint: str
    request_id: str
    started: float = dataclasses.field(default_factory=time.perf_counter)
    received_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    key: auth.KeyContext | None = None
    body: dict[str, Any] | None = None
    stream: bool = False
    forward_headers: tuple[tuple[str, str], ...] = ()  # for an upstream of the client's own API
    forward_query: str = ""  # likewise, e.g. "?beta=true"
    dropped_betas: tuple[str, ...] = ()  # anthropic-beta values the allow-list kept from the upstream
    upstream_wait_s: float = 0.0
    attempts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    model: snapshot.ModelEntry | None = None
    decision: str | None = None
    route: decisions.Decision | None = None
    hints: native.Hints | None = None  # routing hints of a /v1/chat request
    reservation: values.Reservation | None = None  # budget and rate-limit reservation, settled in finish()
    failed_cost: Decimal = Decimal(0)  # charged by estimate: attempts that failed after reaching a provider
    failed_tokens: tuple[int, int] = (0, 0)  # their input and output tokens
    finished: bool = False
    trace: tracing.RequestTrace | None = dataclasses.field(default_factory=tracing.current)  # None: tracing off

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def overhead_ms(self) -> float:
        return max(0.0, (self.elapsed_s() - self.upstream_wait_s) * 1000)

    def attempt(
        self,
        model: snapshot.ModelEntry,
        outcome: str,
        *,
        status: int | None = None,
        ms: float = 0.0,
        charged: usage_mod.Usage | None = None,
    ) -> None:
        """Note one attempt for the request log; ``charged`` is what a failed attempt that reached the provider
        is charged for (the estimate of ``accounting.attempts``), added to the request's cost."""
        entry: dict[str, Any] = {
            "model": model.ref.name,
            "provider": model.provider.ref.name,
            "outcome": outcome,
            "status": status,
            "ms": round(ms, 3),
        }
        if charged is not None:
            cost = cost_of(model, charged)
            self.failed_cost += cost
            tokens_in, tokens_out = self.failed_tokens
            self.failed_tokens = (tokens_in + charged.total_input_tokens, tokens_out + charged.output_tokens)
            entry.update(
                cost_usd=str(cost),
                input_tokens=charged.total_input_tokens,
                output_tokens=charged.output_tokens,
                usage_estimated=charged.estimated,
            )
        self.attempts.append(entry)

    def headers(self) -> dict[str, str]:
        headers = {"x-tokenhub-request-id": self.request_id}
        if self.model is not None:
            headers["x-tokenhub-model"] = self.model.ref.name
            headers["x-tokenhub-provider"] = self.model.provider.ref.name
        if self.route is not None and self.route.ranking:
            headers["x-tokenhub-decision"] = self.route.header()
        headers["x-tokenhub-overhead-ms"] = f"{self.overhead_ms():.3f}"
        if self.dropped_betas:
            headers["x-tokenhub-dropped-betas"] = ",".join(self.dropped_betas)
        return headers


def cost_of(model: snapshot.ModelEntry, counted: usage_mod.Usage) -> Decimal:
    """Uncached input, cache reads, cache writes and output, each at the Model's price for it."""
    return pricing.Prices.of_spec(model.spec.pricing).cost(
        counted.input_tokens,
        counted.output_tokens,
        cache_read_tokens=counted.cache_read_tokens,
        cache_write_tokens=counted.cache_write_tokens,
    )


def finish(
    services: Services,
    call: Call,
    *,
    status: int,
    error_class: str | None = None,
    error_message: str | None = None,
    counted: usage_mod.Usage | None = None,
    ttft_s: float | None = None,
    overhead_ms: float | None = None,
) -> Decimal:
    """Write the request's one log row and its metrics; returns the cost charged."""
    if call.finished:
        return Decimal(0)
    call.finished = True
    model = call.model
    answered = cost_of(model, counted) if model is not None and counted is not None else Decimal(0)
    if model is not None and call.attempts and call.attempts[-1].get("outcome") == "ok":
        call.attempts[-1]["cost_usd"] = str(answered)  # the attempt that answered, beside any failed ones
    cost = answered + call.failed_cost
    failed_in, failed_out = call.failed_tokens
    key = call.key
    row = logs_repo.RequestLogRow(
        request_id=call.request_id,
        created_at=call.received_at,
        endpoint=call.endpoint,
        status=status,
        latency_ms=call.elapsed_s() * 1000,
        key_id=key.key_id if key else None,
        key_namespace=key.namespace if key else None,
        key_name=key.name if key else None,
        model=model.ref.name if model else None,
        provider=model.provider.ref.name if model else None,
        upstream_model=model.spec.upstream_model if model else None,
        stream=call.stream,
        error_class=error_class,
        error_message=error_message[:1000] if error_message else None,
        input_tokens=(counted.total_input_tokens if counted else 0) + failed_in,
        output_tokens=(counted.output_tokens if counted else 0) + failed_out,
        cache_read_tokens=counted.cache_read_tokens if counted else 0,
        cache_write_tokens=counted.cache_write_tokens if counted else 0,
        usage_estimated=(counted.estimated if counted else False) or call.failed_cost > 0,
        cost_usd=cost,
        ttft_ms=ttft_s * 1000 if ttft_s is not None else None,
        overhead_ms=overhead_ms if overhead_ms is not None else call.overhead_ms(),
        decision=call.decision,
        attempts=tuple(call.attempts),
    )
    charge = None
    if call.reservation is not None:
        tokens = row.input_tokens + row.output_tokens
        charge = services.leases.settle(call.reservation, cost, tokens)
        call.reservation = None
    services.logs.record(row, charge)
    if call.trace is not None:
        call.trace.finished(row, call.route, call.body.get("model") if call.body else None)
    metrics = services.metrics
    model_label = row.model or ""
    provider_label = row.provider or ""
    metrics.child(metrics.requests, call.endpoint, model_label, provider_label, str(status), error_class or "").inc()
    metrics.child(metrics.request_duration, call.endpoint).observe(row.latency_ms / 1000)
    metrics.child(metrics.overhead, call.endpoint).observe((row.overhead_ms or 0) / 1000)
    if counted is not None and model is not None:
        metrics.child(metrics.tokens, model_label, provider_label, "input").inc(counted.total_input_tokens)
        metrics.child(metrics.tokens, model_label, provider_label, "output").inc(counted.output_tokens)
        if row.cache_read_tokens:
            metrics.child(metrics.tokens, model_label, provider_label, "cache_read").inc(row.cache_read_tokens)
        if row.cache_write_tokens:
            metrics.child(metrics.tokens, model_label, provider_label, "cache_write").inc(row.cache_write_tokens)
        metrics.child(metrics.cost, model_label, provider_label).inc(float(answered))
    operation = GEN_AI_OPERATIONS.get(call.endpoint)
    if operation is not None:
        _observe_gen_ai(metrics, operation, provider_label, model_label, row, error_class, ttft_s)
    return cost


# The GenAI operation of each endpoint (gen_ai.operation.name); token counting is not one.
GEN_AI_OPERATIONS = {
    "chat.completions": "chat",
    "messages": "chat",
    "chat": "chat",
    "responses": "chat",
    "embeddings": "embeddings",
}


def _observe_gen_ai(
    metrics: metrics_mod.Metrics,
    operation: str,
    provider: str,
    model: str,
    row: logs_repo.RequestLogRow,
    error_class: str | None,
    ttft_s: float | None,
) -> None:
    metrics.child(metrics.operation_duration, operation, provider, model, error_class or "").observe(
        row.latency_ms / 1000
    )
    ttft, input_tokens, output_tokens = metrics.gen_ai(operation, provider, model)
    if ttft_s is not None:
        ttft.observe(ttft_s)
    if row.input_tokens or row.output_tokens:
        input_tokens.observe(row.input_tokens)
        output_tokens.observe(row.output_tokens)
