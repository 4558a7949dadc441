"""The service-level objectives the alert rules burn against, in one place for rules, dashboards and docs.

Each threshold is a bucket bound of its histogram (``metrics.TTFT_BUCKETS``, ``metrics.DURATION_BUCKETS``): the
share of requests slower than it is read straight off ``le``, with no interpolation. Burn-rate windows follow the
multi-window, multi-burn-rate scheme: a fast pair (1 h and 5 min at 14.4x) pages, a slow pair (6 h and 30 min at
6x) opens a ticket; each long window says the budget is burning, its short window that it still is.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class LatencySlo:
    name: str  # used in recording-rule and alert names
    metric: str  # histogram base name (without _bucket)
    threshold_s: float  # a bucket bound
    objective: float  # share of requests that must be faster than the threshold
    what: str  # for alert text


@dataclasses.dataclass(frozen=True, slots=True)
class Burn:
    severity: str
    long: str
    short: str
    factor: float
    for_: str


TTFT = LatencySlo(
    "ttft",
    "gen_ai_server_time_to_first_token_seconds",
    2.5,
    0.99,
    "time to first token of streamed requests",
)
LATENCY = LatencySlo(
    "latency",
    "gen_ai_client_operation_duration_seconds",
    30.0,
    0.99,
    "duration of requests",
)
SLOS = (TTFT, LATENCY)
BURNS = (
    Burn("page", "1h", "5m", 14.4, "2m"),
    Burn("ticket", "6h", "30m", 6.0, "15m"),
)
WINDOWS = ("5m", "30m", "1h", "6h")

ERROR_RATIO = 0.05  # share of requests answered 5xx over 5 min
BUDGET_WARNING = 0.8  # share of an ApiKey's monthly budget spent
CONFIG_STALE_S = 60.0  # config revision not confirmed current for this long
