"""Prometheus metrics, registered on a registry handed in (never the process-global default).

A registry per app keeps tests independent and lets several gateways run in one process. Names follow the
``tokenhub_`` prefix and, for model traffic, the OpenTelemetry GenAI semantic conventions as OpenTelemetry's
Prometheus exporter spells them (``gen_ai_client_operation_duration_seconds``, labels ``gen_ai_*``). Only
per-request events are observed here; state (budgets, health, bandit, queues) is read at scrape time by
``collectors.StateCollector``. docs/observability.md lists every family with its labels.
"""

from __future__ import annotations

from typing import Any, TypeVar

import prometheus_client as prom
from prometheus_client.metrics import MetricWrapperBase

import gateway

M = TypeVar("M", bound=MetricWrapperBase)

# Bucket bounds chosen so that the SLO thresholds of the alert rules (``slo.py``) are bucket bounds.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
RELOAD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GEN_AI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")


class Metrics:
    def __init__(self, registry: prom.CollectorRegistry) -> None:
        self.registry = registry
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        self._gen_ai: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self.build_info = prom.Info("tokenhub_build", "TokenHub build information.", registry=registry)
        self.build_info.info({"version": gateway.__version__})
        self.config_revision = prom.Gauge(
            "tokenhub_config_revision", "Config revision this replica serves.", registry=registry
        )
        self.config_reloads = prom.Counter(
            "tokenhub_config_reloads", "Config snapshot reloads by result.", ["result"], registry=registry
        )
        self.config_routable_models = prom.Gauge(
            "tokenhub_config_routable_models", "Models that can currently be routed to.", registry=registry
        )
        self.config_age = prom.Gauge(
            "tokenhub_config_age_seconds",
            "Seconds since the served config revision was last confirmed current by a poll or a notification.",
            registry=registry,
        )
        self.config_object_errors = prom.Gauge(
            "tokenhub_config_object_errors",
            "Objects of the served config revision left out or partly ignored because they do not compile, by kind.",
            ["kind"],
            registry=registry,
        )
        self.ready = prom.Gauge("tokenhub_ready", "1 when this replica reports ready.", registry=registry)
        self.background_task_failures = prom.Counter(
            "tokenhub_background_task_failures",
            "Unexpected failures of background tasks (each logged with its traceback; the task is restarted).",
            ["task"],
            registry=registry,
        )
        self.request_log_written = prom.Counter(
            "tokenhub_request_log_written", "Request-log rows written to Postgres.", registry=registry
        )
        self.request_log_dropped = prom.Counter(
            "tokenhub_request_log_dropped", "Request-log rows dropped because the queue was full.", registry=registry
        )
        self.request_log_write_errors = prom.Counter(
            "tokenhub_request_log_write_errors", "Failed request-log batch writes (retried).", registry=registry
        )
        self.request_log_dead_lettered = prom.Counter(
            "tokenhub_request_log_dead_lettered",
            "Request-log rows Postgres refused for their content, set aside in the dead-letter file.",
            registry=registry,
        )
        self.requests = prom.Counter(
            "tokenhub_requests",
            "Finished client requests.",
            ["endpoint", "model", "provider", "status", "error_class"],
            registry=registry,
        )
        self.requests_in_flight = prom.Gauge(
            "tokenhub_requests_in_flight",
            "Requests on the model endpoints of this process right now, streams included.",
            registry=registry,
        )
        self.inbound_cut = prom.Counter(
            "tokenhub_inbound_cut",
            "Client connections cut for a slow or oversized request head or body, by reason.",
            ["reason"],
            registry=registry,
        )
        self.tokens = prom.Counter(
            "tokenhub_tokens",
            "Tokens by direction: input (all of it), output, and cache_read / cache_write, the parts of the input"
            " read from and written to the provider's prompt cache (as OpenTelemetry's gen_ai.usage counts them).",
            ["model", "provider", "direction"],
            registry=registry,
        )
        self.anthropic_betas_dropped = prom.Counter(
            "tokenhub_anthropic_betas_dropped",
            "anthropic-beta values of client requests not forwarded because TOKENHUB_ANTHROPIC_BETAS does not allow"
            " them (each is named in the response's x-tokenhub-dropped-betas header).",
            registry=registry,
        )
        self.cost = prom.Counter("tokenhub_cost_usd", "Cost charged in USD.", ["model", "provider"], registry=registry)
        self.upstream_attempts = prom.Counter(
            "tokenhub_upstream_attempts",
            "Upstream attempts by outcome.",
            ["provider", "outcome"],
            registry=registry,
        )
        self.request_duration = prom.Histogram(
            "tokenhub_request_duration_seconds",
            "Client request duration.",
            ["endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=registry,
        )
        self.overhead = prom.Histogram(
            "tokenhub_overhead_seconds",
            "Gateway time per request excluding the wait on upstreams.",
            ["endpoint"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
            registry=registry,
        )
        self.stored_responses_written = prom.Counter(
            "tokenhub_stored_responses_written", "Stored Responses API objects written to Postgres.", registry=registry
        )
        self.stored_responses_write_errors = prom.Counter(
            "tokenhub_stored_responses_write_errors",
            "Failed writes of stored responses while Postgres was unreachable (retried).",
            registry=registry,
        )
        self.stored_responses_dropped = prom.Counter(
            "tokenhub_stored_responses_dropped",
            "Responses that should have been stored but were not (each logged), by reason.",
            ["reason"],
            registry=registry,
        )
        self.stored_responses_expired = prom.Counter(
            "tokenhub_stored_responses_expired", "Stored responses deleted after their retention.", registry=registry
        )
        self.responses_tools_dropped = prom.Counter(
            "tokenhub_responses_tools_dropped",
            "Built-in tools left out of Responses requests to upstreams that cannot run them, by tool type.",
            ["tool"],
            registry=registry,
        )

        self.config_reload_duration = prom.Histogram(
            "tokenhub_config_reload_duration_seconds",
            "Time to load, decrypt and compile a config revision, by result.",
            ["result"],
            buckets=RELOAD_BUCKETS,
            registry=registry,
        )
        self.idempotency = prom.Counter(
            "tokenhub_idempotency_requests",
            "Requests carrying an Idempotency-Key, by result: first (ran), replayed (answered from the stored"
            " response), in_progress (409), mismatch (422).",
            ["result"],
            registry=registry,
        )
        self.operation_duration = prom.Histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration as the client sees it, from arrival to the last byte; error_type is the"
            " error class of a failed request, empty on success.",
            [*GEN_AI_LABELS, "error_type"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.token_usage = prom.Histogram(
            "gen_ai_client_token_usage",
            "Tokens per GenAI operation, by gen_ai_token_type (input, output).",
            [*GEN_AI_LABELS, "gen_ai_token_type"],
            buckets=TOKEN_BUCKETS,
            registry=registry,
        )
        self.time_to_first_token = prom.Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time from a streamed request's arrival to the first output bytes sent to the client.",
            list(GEN_AI_LABELS),
            buckets=TTFT_BUCKETS,
            registry=registry,
        )

    def gen_ai(self, operation: str, provider: str, model: str) -> tuple[Any, Any, Any]:
        """The time-to-first-token, input-token and output-token histogram children of one label set, looked up
        together: one dictionary probe per request instead of three."""
        key = (operation, provider, model)
        found = self._gen_ai.get(key)
        if found is None:
            found = self._gen_ai[key] = (
                self.time_to_first_token.labels(operation, provider, model),
                self.token_usage.labels(operation, provider, model, "input"),
                self.token_usage.labels(operation, provider, model, "output"),
            )
        return found

    def child(self, metric: M, *labels: str) -> M:
        """``metric.labels(*labels)``, looked up once per label combination: prometheus_client validates the
        values and takes a lock on every ``labels`` call, several times per request on the hot path."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def exposition(self) -> bytes:
        return prom.generate_latest(self.registry)
