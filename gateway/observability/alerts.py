"""TokenHub's Prometheus alerting and recording rules, as data: written to the chart by ``generate``.

Every alert here has promtool unit tests in tests/promtool/ (one case where it fires, one where it stays silent),
run by tests/unit/gateway/observability/test_alert_rules.py. Expressions use only families a test proves exist
after real traffic (tests/integration/test_metric_families.py).
"""

from __future__ import annotations

from typing import Any

from gateway.observability import slo

Rule = dict[str, Any]

RATE_5M_5XX = 'sum(rate(tokenhub_requests_total{status=~"5.."}[5m]))'
RATE_5M_ALL = "sum(rate(tokenhub_requests_total[5m]))"


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if for_ != "0m":
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _slow_ratio(s: slo.LatencySlo, window: str) -> Rule:
    """The share of requests slower than the threshold over ``window``, one series for the whole fleet."""
    le = repr(float(s.threshold_s))  # as prometheus_client spells a bucket bound: 30.0, 2.5
    return {
        "record": f"tokenhub:{s.name}_slow_ratio:rate{window}",
        "expr": (f'1 - sum(rate({s.metric}_bucket{{le="{le}"}}[{window}])) / sum(rate({s.metric}_count[{window}]))'),
    }


def _burn_alert(s: slo.LatencySlo, burn: slo.Burn) -> Rule:
    budget = 1 - s.objective
    limit = f"{burn.factor * budget:.4g}"
    expr = (
        f"tokenhub:{s.name}_slow_ratio:rate{burn.long} > {limit}"
        f" and tokenhub:{s.name}_slow_ratio:rate{burn.short} > {limit}"
    )
    title = s.name.upper() if s.name == "ttft" else s.name.capitalize()
    return _alert(
        f"TokenHub{title}SloBurn{burn.severity.capitalize()}",
        expr,
        burn.for_,
        "critical" if burn.severity == "page" else "warning",
        f"The {s.what} SLO is burning its error budget {burn.factor:g}x too fast",
        f"More than {burn.factor * budget:.2%} of requests over {burn.long} (and still over {burn.short}) took"
        f" longer than {s.threshold_s:g}s; the objective is {s.objective:.0%}.",
    )


def slo_group() -> Rule:
    rules = [_slow_ratio(s, w) for s in slo.SLOS for w in slo.WINDOWS]
    rules += [_burn_alert(s, b) for s in slo.SLOS for b in slo.BURNS]
    return {"name": "tokenhub-slo", "rules": rules}


def gateway_group() -> Rule:
    spent = "max by (namespace, api_key) (tokenhub_budget_spent_usd)"
    limit = "max by (namespace, api_key) (tokenhub_budget_limit_usd)"
    rules = [
        _alert(
            "TokenHubProviderCircuitOpen",
            "max by (namespace, provider) (tokenhub_provider_circuit_open) == 1",
            "2m",
            "warning",
            "Provider {{ $labels.namespace }}/{{ $labels.provider }} is down (circuit open)",
            "Its circuit has been open for 2 minutes: traffic fails over to other models while it cools down.",
        ),
        _alert(
            "TokenHubErrorRatio",
            f"({RATE_5M_5XX} or vector(0)) / {RATE_5M_ALL} > {slo.ERROR_RATIO:g}",
            "5m",
            "critical",
            "More than {{ $value | humanizePercentage }} of requests fail with a 5xx",
            f"Over 5 minutes more than {slo.ERROR_RATIO:.0%} of model requests were answered with a server error"
            " (upstreams failing after failover, or the gateway itself).",
        ),
        _alert(
            "TokenHubBudgetHigh",
            f"{spent} / {limit} >= {slo.BUDGET_WARNING:g} < 1",
            "0m",
            "warning",
            "ApiKey {{ $labels.namespace }}/{{ $labels.api_key }} spent {{ $value | humanizePercentage }} of its"
            " monthly budget",
            f"At least {slo.BUDGET_WARNING:.0%} of the key's monthly budget is spent.",
        ),
        _alert(
            "TokenHubBudgetExhausted",
            f"{spent} / {limit} >= 1"
            ' or sum by (namespace, api_key) (increase(tokenhub_key_refusals_total{reason="budget"}[10m])) > 0',
            "0m",
            "critical",
            "ApiKey {{ $labels.namespace }}/{{ $labels.api_key }} has exhausted its monthly budget",
            "Its requests are refused with budget_exceeded until the next month or a larger monthlyBudgetUSD.",
        ),
        _alert(
            "TokenHubConfigStale",
            f"max by (instance) (tokenhub_config_age_seconds) > {slo.CONFIG_STALE_S:g}",
            "1m",
            "warning",
            "Replica {{ $labels.instance }} has not confirmed its config revision for {{ $value | humanize }}s",
            "Postgres or the config listener is unreachable, or reloads fail: the replica reports not ready once"
            " TOKENHUB_CONFIG_STALE_SECONDS passes.",
        ),
        _alert(
            "TokenHubLogSpoolGrowing",
            "max by (instance) (tokenhub_request_log_spool_bytes) > 0"
            " and max by (instance) (deriv(tokenhub_request_log_spool_bytes[10m])) > 0",
            "5m",
            "warning",
            "Replica {{ $labels.instance }} is spooling request logs to disk",
            "The request-log writer cannot reach Postgres; rows wait in the spool file, and are dropped when it"
            " is full.",
        ),
        _alert(
            "TokenHubLogDeadLetters",
            "sum by (instance) (increase(tokenhub_request_log_dead_lettered_total[15m])) > 0",
            "0m",
            "warning",
            "Postgres refused request-log rows on {{ $labels.instance }}",
            "Rows Postgres refused for their content are in the dead-letter file beside the spool.",
        ),
        _alert(
            "TokenHubNoActiveHealthProber",
            "sum(tokenhub_health_prober_leading) == 0",
            "5m",
            "warning",
            "No gateway replica runs the active health prober",
            "Every replica with probes on reports that it does not hold the prober's lock: idle providers are not"
            " probed, so an outage is only seen by real traffic.",
        ),
        _alert(
            "TokenHubBackgroundTaskFailing",
            "sum by (instance, task) (increase(tokenhub_background_task_failures_total[15m])) > 0",
            "0m",
            "warning",
            "Background task {{ $labels.task }} failed on {{ $labels.instance }}",
            "The supervisor restarted it; the gateway's log has the traceback.",
        ),
    ]
    return {"name": "tokenhub-gateway", "rules": rules}


def rules() -> dict[str, Any]:
    return {"groups": [gateway_group(), slo_group()]}
