"""Small builders for routing tests: models and tables with sensible defaults."""

from __future__ import annotations

import random

from gateway.routing import engine, health, modes, request, table
from gateway.routing.decision import Decision


def model(
    name: str,
    *,
    provider: str | None = None,
    price: float = 0.001,
    out_price: float | None = None,
    weight: int = 5,
    window: int = 128_000,
    caps: frozenset[str] = frozenset({"chat"}),
    enabled: bool = True,
    aliases: tuple[str, ...] = (),
) -> table.ModelView:
    return table.ModelView(
        name=name,
        provider=provider or f"prov-{name}",
        upstream_model=name,
        context_window=window,
        input_per_1k=price,
        output_per_1k=price if out_price is None else out_price,
        weight=weight,
        capabilities=caps,
        enabled=enabled,
        aliases=aliases,
    )


def route(
    t: table.RoutingTable,
    *,
    health_view: health.HealthView | None = None,
    now: float = 1000.0,
    seed: int = 0,
    **fields: object,
) -> Decision:
    req = request.RouteRequest(**fields)  # type: ignore[arg-type]  # test convenience: fields by keyword
    return engine.route(t, req, health=health_view or {}, bandit=None, now=now, rng=random.Random(seed))


def decision_between(*models: str, requested: str) -> Decision:
    """The decision for ``requested`` among default models of these names, each with its own provider."""
    t = table.compile_table([model(name, provider=f"team/{name}") for name in models])
    return route(t, model=requested, now=0.0, seed=1)


def names(d: Decision) -> list[str]:
    return [c.name for c in d.candidates()]


CHEAP = modes.Mode.CHEAP
