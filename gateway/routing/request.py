"""RouteRequest: the engine's view of one request, already stripped of wire formats.

Overrides (budget, latency, minimum weight) can only tighten the policy: the stricter value wins, so neither a
client's ``policy`` object nor an in-band directive can spend more than the operator allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.routing import modes

CHAT: frozenset[str] = frozenset({"chat"})


@dataclass(frozen=True, slots=True)
class RouteRequest:
    model: str | None = None  # model name, model alias, policy alias; None, "" or "auto" routes freely
    mode: modes.Mode | None = None
    max_budget_usd: float | None = None
    max_latency_ms: int | None = None
    min_weight: int | None = None
    capabilities: frozenset[str] = CHAT
    input_tokens: int = 0
    max_output_tokens: int = 512
    api_key_id: str = ""
    allowed_models: frozenset[str] | None = None  # None: the key may use every model
    request_id: str = ""
    policy: str | None = None  # None: the table's default policy
    round_robin_counter: int = 0  # the caller's counter for the requested alias name
