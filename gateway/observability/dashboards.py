"""TokenHub's Grafana dashboards, declared as panels of PromQL and built with grafana-foundation-sdk.

The panel table is the single source: ``generate`` writes the JSON the chart ships, and the Prometheus-backed
test (tests/integration/test_dashboards_prometheus.py) evaluates every query of it against two gateways under
load. Queries use ``$__rate_interval`` and ``$__range`` only; no template variable other than the data source.
Only the generator imports this module (the SDK is a development dependency).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import orjson
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import encoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models

from gateway.observability import slo

RI = "$__rate_interval"
DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="${datasource}")


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Panel:
    title: str
    unit: str
    queries: tuple[Query, ...]
    kind: Literal["timeseries", "stat"] = "timeseries"
    description: str = ""
    width: int = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Board:
    name: str  # file name and uid suffix
    title: str
    description: str
    rows: tuple[Row, ...]

    def queries(self) -> list[str]:
        return [q.expr for row in self.rows for p in row.panels for q in p.queries]


def _q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def _quantiles(metric: str, by: str = "") -> tuple[Query, ...]:
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(
        _q(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RI}])))", f"p{round(q * 100)}{suffix}")
        for q in (0.5, 0.95, 0.99)
    )


OVERVIEW = Board(
    "overview",
    "TokenHub / Overview",
    "Traffic, errors, latency, time to first token and cost of the whole fleet.",
    (
        Row(
            "Traffic",
            (
                Panel(
                    "Requests per second by endpoint",
                    "reqps",
                    (_q(f"sum by (endpoint) (rate(tokenhub_requests_total[{RI}]))", "{{endpoint}}"),),
                ),
                Panel(
                    "Requests by status",
                    "reqps",
                    (_q(f"sum by (status) (rate(tokenhub_requests_total[{RI}]))", "{{status}}"),),
                ),
                Panel("Requests in flight", "short", (_q("sum(tokenhub_requests_in_flight)", "in flight"),)),
            ),
        ),
        Row(
            "Errors",
            (
                Panel(
                    "Server error ratio (5xx)",
                    "percentunit",
                    (
                        _q(
                            f'(sum(rate(tokenhub_requests_total{{status=~"5.."}}[{RI}])) or vector(0))'
                            f" / sum(rate(tokenhub_requests_total[{RI}]))",
                            "5xx ratio",
                        ),
                    ),
                    description=f"Alert TokenHubErrorRatio fires above {slo.ERROR_RATIO:.0%}.",
                ),
                Panel(
                    "Errors by class",
                    "reqps",
                    (
                        _q(
                            f'sum by (error_class) (rate(tokenhub_requests_total{{error_class!=""}}[{RI}]))',
                            "{{error_class}}",
                        ),
                    ),
                ),
                Panel(
                    "Upstream attempts that failed, by outcome",
                    "reqps",
                    (
                        _q(
                            f'sum by (outcome) (rate(tokenhub_upstream_attempts_total{{outcome!="ok"}}[{RI}]))',
                            "{{outcome}}",
                        ),
                    ),
                ),
            ),
        ),
        Row(
            "Latency",
            (
                Panel("Request duration", "s", _quantiles("gen_ai_client_operation_duration_seconds")),
                Panel(
                    "Time to first token (streams)",
                    "s",
                    _quantiles("gen_ai_server_time_to_first_token_seconds"),
                    description=f"SLO: {slo.TTFT.objective:.0%} under {slo.TTFT.threshold_s:g}s.",
                ),
                Panel("Gateway overhead", "s", _quantiles("tokenhub_overhead_seconds")),
            ),
        ),
        Row(
            "Tokens and cost",
            (
                Panel(
                    "Tokens per second by type",
                    "short",
                    (
                        _q(
                            f"sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[{RI}]))",
                            "{{gen_ai_token_type}}",
                        ),
                    ),
                ),
                Panel(
                    "Cost per hour by model",
                    "currencyUSD",
                    (_q(f"sum by (model) (rate(tokenhub_cost_usd_total[{RI}])) * 3600", "{{model}}"),),
                ),
                Panel(
                    "Cost in the time range",
                    "currencyUSD",
                    (_q("sum(increase(tokenhub_cost_usd_total[$__range]))", "cost"),),
                    kind="stat",
                ),
            ),
        ),
    ),
)

PROVIDERS = Board(
    "providers-models",
    "TokenHub / Providers & models",
    "Provider health and circuits, failovers, model availability and what the bandit has learnt.",
    (
        Row(
            "Providers",
            (
                Panel(
                    "Health state",
                    "short",
                    (
                        _q(
                            "max by (namespace, provider, state) (tokenhub_provider_health_state) > 0",
                            "{{namespace}}/{{provider}} {{state}}",
                        ),
                    ),
                    description="1 for the state each Provider is in, as the replicas see it.",
                ),
                Panel(
                    "Circuit open",
                    "bool",
                    (
                        _q(
                            "max by (namespace, provider) (tokenhub_provider_circuit_open)",
                            "{{namespace}}/{{provider}}",
                        ),
                    ),
                ),
                Panel(
                    "Error ratio (EWMA)",
                    "percentunit",
                    (_q("max by (namespace, provider) (tokenhub_provider_error_ratio)", "{{namespace}}/{{provider}}"),),
                ),
                Panel(
                    "Attempt latency (EWMA)",
                    "s",
                    (
                        _q(
                            "max by (namespace, provider) (tokenhub_provider_latency_seconds)",
                            "{{namespace}}/{{provider}}",
                        ),
                    ),
                ),
                Panel(
                    "Upstream attempts by outcome",
                    "reqps",
                    (
                        _q(
                            f"sum by (provider, outcome) (rate(tokenhub_upstream_attempts_total[{RI}]))",
                            "{{provider}} {{outcome}}",
                        ),
                    ),
                ),
                Panel(
                    "Failovers (failed attempts) by provider",
                    "reqps",
                    (
                        _q(
                            f'sum by (provider) (rate(tokenhub_upstream_attempts_total{{outcome!="ok"}}[{RI}]))',
                            "{{provider}}",
                        ),
                    ),
                ),
            ),
        ),
        Row(
            "Models",
            (
                Panel(
                    "Requests by model",
                    "reqps",
                    (
                        _q(
                            f'sum by (model, provider) (rate(tokenhub_requests_total{{model!=""}}[{RI}]))',
                            "{{model}} ({{provider}})",
                        ),
                    ),
                ),
                Panel(
                    "Model available",
                    "bool",
                    (_q("min by (namespace, model) (tokenhub_model_available)", "{{namespace}}/{{model}}"),),
                ),
                Panel(
                    "Bandit posterior mean",
                    "percentunit",
                    (
                        _q(
                            "avg by (namespace, model, bucket) (tokenhub_bandit_posterior_mean)",
                            "{{namespace}}/{{model}} {{bucket}}",
                        ),
                    ),
                    description="What the thompson mode expects of each model per request size (higher is better).",
                ),
                Panel(
                    "Time to first token p95 by model",
                    "s",
                    (
                        _q(
                            "histogram_quantile(0.95, sum by (le, gen_ai_request_model)"
                            f" (rate(gen_ai_server_time_to_first_token_seconds_bucket[{RI}])))",
                            "{{gen_ai_request_model}}",
                        ),
                    ),
                ),
                Panel(
                    "Request duration p95 by model",
                    "s",
                    (
                        _q(
                            "histogram_quantile(0.95, sum by (le, gen_ai_request_model)"
                            f" (rate(gen_ai_client_operation_duration_seconds_bucket[{RI}])))",
                            "{{gen_ai_request_model}}",
                        ),
                    ),
                ),
                Panel(
                    "Output tokens per request p95 by model",
                    "short",
                    (
                        _q(
                            "histogram_quantile(0.95, sum by (le, gen_ai_request_model)"
                            f' (rate(gen_ai_client_token_usage_bucket{{gen_ai_token_type="output"}}[{RI}])))',
                            "{{gen_ai_request_model}}",
                        ),
                    ),
                ),
            ),
        ),
    ),
)

KEYS = Board(
    "keys-budgets",
    "TokenHub / Keys & budgets",
    "Spend against monthly budgets per ApiKey, refusals at admission, rate limits and the leases behind them.",
    (
        Row(
            "Budgets",
            (
                Panel(
                    "Spend vs limit",
                    "currencyUSD",
                    (
                        _q(
                            "max by (namespace, api_key) (tokenhub_budget_spent_usd)", "{{namespace}}/{{api_key}} spent"
                        ),
                        _q(
                            "max by (namespace, api_key) (tokenhub_budget_limit_usd)", "{{namespace}}/{{api_key}} limit"
                        ),
                    ),
                    width=12,
                ),
                Panel(
                    "Budget used",
                    "percentunit",
                    (
                        _q(
                            "max by (namespace, api_key) (tokenhub_budget_spent_usd)"
                            " / max by (namespace, api_key) (tokenhub_budget_limit_usd)",
                            "{{namespace}}/{{api_key}}",
                        ),
                    ),
                    description=f"Alert TokenHubBudgetHigh fires at {slo.BUDGET_WARNING:.0%}.",
                    width=12,
                ),
            ),
        ),
        Row(
            "Refusals and rate limits",
            (
                Panel(
                    "Refusals by key and reason",
                    "reqps",
                    (
                        _q(
                            f"sum by (namespace, api_key, reason) (rate(tokenhub_key_refusals_total[{RI}]))",
                            "{{namespace}}/{{api_key}} {{reason}}",
                        ),
                    ),
                ),
                Panel(
                    "Rate-limit refusals in the time range",
                    "short",
                    (
                        _q(
                            "sum by (namespace, api_key, reason)"
                            ' (increase(tokenhub_key_refusals_total{reason=~"rpm|tpm|concurrent"}[$__range]))',
                            "{{namespace}}/{{api_key}} {{reason}}",
                        ),
                    ),
                    kind="stat",
                ),
                Panel(
                    "Budget refusals in the time range",
                    "short",
                    (
                        _q(
                            "sum by (namespace, api_key)"
                            ' (increase(tokenhub_key_refusals_total{reason="budget"}[$__range]))',
                            "{{namespace}}/{{api_key}}",
                        ),
                    ),
                    kind="stat",
                ),
            ),
        ),
        Row(
            "Leases",
            (
                Panel(
                    "Budget held by replicas",
                    "currencyUSD",
                    (
                        _q(
                            "sum by (namespace, api_key, state) (tokenhub_lease_budget_usd)",
                            "{{namespace}}/{{api_key}} {{state}}",
                        ),
                    ),
                ),
                Panel(
                    "Admissions",
                    "reqps",
                    (
                        _q(f"sum by (result) (rate(tokenhub_lease_admissions_total[{RI}]))", "{{result}}"),
                        _q(f"sum(rate(tokenhub_lease_waits_total[{RI}]))", "waited for a grant"),
                    ),
                ),
                Panel(
                    "Lease grants and store failures",
                    "ops",
                    (
                        _q(f"sum(rate(tokenhub_lease_grants_total[{RI}]))", "grants"),
                        _q(f"sum(rate(tokenhub_lease_store_failures_total[{RI}]))", "store failures"),
                    ),
                ),
            ),
        ),
    ),
)

REPLICAS = Board(
    "replicas-config",
    "TokenHub / Replicas & config",
    "Replica readiness, config revision and its age, reload latency, the request-log pipeline and Postgres.",
    (
        Row(
            "Replicas and config",
            (
                Panel("Ready replicas", "short", (_q("sum(tokenhub_ready)", "ready"),), kind="stat"),
                Panel("Config revision", "none", (_q("max by (instance) (tokenhub_config_revision)", "{{instance}}"),)),
                Panel(
                    "Config age",
                    "s",
                    (_q("max by (instance) (tokenhub_config_age_seconds)", "{{instance}}"),),
                    description=f"Alert TokenHubConfigStale fires above {slo.CONFIG_STALE_S:g}s.",
                ),
                Panel("Config reload latency", "s", _quantiles("tokenhub_config_reload_duration_seconds")),
                Panel(
                    "Config reloads by result",
                    "ops",
                    (_q(f"sum by (result) (rate(tokenhub_config_reloads_total[{RI}]))", "{{result}}"),),
                ),
                Panel(
                    "Background task failures",
                    "short",
                    (
                        _q(
                            "sum by (task) (increase(tokenhub_background_task_failures_total[$__range]))",
                            "{{task}}",
                        ),
                    ),
                ),
            ),
        ),
        Row(
            "Request-log pipeline",
            (
                Panel(
                    "Rows written and dropped",
                    "ops",
                    (
                        _q(f"sum(rate(tokenhub_request_log_written_total[{RI}]))", "written"),
                        _q(f"sum(rate(tokenhub_request_log_dropped_total[{RI}]))", "dropped"),
                        _q(f"sum(rate(tokenhub_request_log_dead_lettered_total[{RI}]))", "dead-lettered"),
                    ),
                ),
                Panel("Queue", "short", (_q("max by (instance) (tokenhub_request_log_queue)", "{{instance}}"),)),
                Panel(
                    "Spool and dead-letter files",
                    "bytes",
                    (
                        _q("max by (instance) (tokenhub_request_log_spool_bytes)", "spool {{instance}}"),
                        _q("max by (instance) (tokenhub_request_log_dead_letter_bytes)", "dead letters {{instance}}"),
                    ),
                ),
            ),
        ),
        Row(
            "Postgres",
            (
                Panel(
                    "Pool connections",
                    "short",
                    (
                        _q("sum by (state) (tokenhub_db_pool_connections)", "{{state}}"),
                        _q("sum(tokenhub_db_pool_waiting)", "waiting"),
                    ),
                ),
                Panel(
                    "Config listener connected",
                    "bool",
                    (_q("min by (instance) (tokenhub_db_listener_connected)", "{{instance}}"),),
                ),
                Panel(
                    "Write errors",
                    "ops",
                    (
                        _q(f"sum(rate(tokenhub_request_log_write_errors_total[{RI}]))", "request log"),
                        _q(f"sum(rate(tokenhub_lease_store_failures_total[{RI}]))", "leases"),
                    ),
                ),
                Panel(
                    "Health prober",
                    "short",
                    (_q("sum(tokenhub_health_prober_leading)", "replicas leading"),),
                    kind="stat",
                    description="1 when a replica runs the active health prober; alert TokenHubNoActiveHealthProber"
                    " fires on 0.",
                ),
            ),
        ),
    ),
)

BOARDS = (OVERVIEW, PROVIDERS, KEYS, REPLICAS)


def _panel(p: Panel) -> dashboard_builders.Panel:
    built: Any
    if p.kind == "stat":
        built = (
            stat.Panel()
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        )
    else:
        built = (
            timeseries.Panel()
            .fill_opacity(10)
            .legend(common_builders.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST).show_legend(True))
        )
    built = built.title(p.title).unit(p.unit).datasource(DATASOURCE).height(8).span(p.width)
    if p.description:
        built = built.description(p.description)
    for index, query in enumerate(p.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index)).datasource(DATASOURCE)
        if query.legend:
            target = target.legend_format(query.legend)
        built = built.with_target(target)
    panel: dashboard_builders.Panel = built
    return panel


def build(board: Board) -> dashboard_models.Dashboard:
    d = (
        dashboard_builders.Dashboard(board.title)
        .uid(f"tokenhub-{board.name}")
        .description(board.description)
        .tags(["tokenhub"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(dashboard_builders.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for row in board.rows:
        d = d.with_row(dashboard_builders.Row(row.title))
        for p in row.panels:
            d = d.with_panel(_panel(p))
    return d.build()


def rendered(board: Board) -> bytes:
    """The dashboard's JSON as committed: keys sorted, two-space indent, a final newline."""
    text = encoder.JSONEncoder(sort_keys=True, indent=2).encode(build(board))
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
