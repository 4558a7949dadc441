"""Routing quality under drift: cumulative reward and regret of each mode against an oracle.

Run: .venv/bin/python bench/routing_quality.py [--requests 5000] [--seed 1]
Five models with known price, latency (log-normal) and failure rates serve one request per simulated second;
halfway, the best model starts failing and slows down while another one speeds up. Every strategy sees the
same request stream, learns only from its own outcomes (passive health; Thompson statistics) and gets one
attempt per request. The oracle knows each phase's expected rewards. Expected rewards come from 40,000
Monte Carlo draws per model and phase; the reported rewards are the chosen models' expected rewards.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from gateway.routing import engine, health, modes, request, table, thompson

TARGET_MS = 2000.0
BUDGET_USD = 0.01
HALF_LIFE_S = 120.0
IN_TOKENS, OUT_TOKENS = 500, 200
WINDOW = 100


@dataclass(frozen=True)
class Behaviour:
    latency_ms: float
    failure: float


MODELS = {  # name: (input $/1K, output $/1K, weight)
    "fast-cheap": (0.00015, 0.0006, 5),
    "balanced": (0.0025, 0.01, 8),
    "premium": (0.015, 0.075, 10),
    "budget-flaky": (0.0001, 0.0002, 3),
    "steady": (0.001, 0.002, 6),
}
BEFORE = {
    "fast-cheap": Behaviour(600, 0.02),
    "balanced": Behaviour(1200, 0.01),
    "premium": Behaviour(3000, 0.005),
    "budget-flaky": Behaviour(900, 0.15),
    "steady": Behaviour(800, 0.03),
}
AFTER = {**BEFORE, "fast-cheap": Behaviour(2500, 0.45), "steady": Behaviour(400, 0.005)}


def cost(name: str) -> float:
    pin, pout, _ = MODELS[name]
    return IN_TOKENS / 1000 * pin + OUT_TOKENS / 1000 * pout


def outcome(name: str, phase: dict[str, Behaviour], rng: random.Random) -> tuple[bool, float, float]:
    b = phase[name]
    latency = b.latency_ms * math.exp(rng.gauss(-0.045, 0.3))  # log-normal with the given mean
    return rng.random() >= b.failure, latency, cost(name)


def reward_of(ok: bool, latency: float, usd: float) -> float:
    return thompson.reward(ok, latency, usd, latency_target_ms=TARGET_MS, budget_usd=BUDGET_USD)


def expected(phase: dict[str, Behaviour], seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    n = 40_000
    return {m: sum(reward_of(*outcome(m, phase, rng)) for _ in range(n)) / n for m in MODELS}


Chooser = Callable[[int, float, random.Random], str]


@dataclass
class Learned:
    """What a strategy has observed so far: passive provider health and Thompson statistics."""

    health: dict[str, health.ProviderHealth]
    bandit: dict[tuple[str, thompson.Bucket], thompson.ArmStats]


def engine_chooser(t: table.RoutingTable, mode: modes.Mode, state: Learned) -> Chooser:
    def choose(k: int, now: float, rng: random.Random) -> str:
        req = request.RouteRequest(mode=mode, input_tokens=IN_TOKENS, max_output_tokens=OUT_TOKENS, request_id=str(k))
        d = engine.route(t, req, health=state.health, bandit=state.bandit, now=now, rng=rng)
        assert d.chosen is not None
        return d.chosen.name

    return choose


@dataclass
class Result:
    values: list[float]  # the expected reward of each pick
    realised: float


def run(name: str, requests: int, seed: int, exp: tuple[dict[str, float], dict[str, float]]) -> Result:
    t = table.compile_table(
        [
            table.ModelView(m, f"p-{m}", m, 128_000, pin, pout, w, frozenset({"chat"}))
            for m, (pin, pout, w) in MODELS.items()
        ],
        [table.RoutingPolicy(bandit=table.BanditSettings(HALF_LIFE_S, TARGET_MS, BUDGET_USD))],
    )
    names = sorted(MODELS)
    hs = health.HealthSettings()
    state = Learned({}, {})
    chooser: Chooser
    if name == "round_robin":
        chooser = lambda k, now, rng: names[k % len(names)]  # noqa: E731
    elif name == "random":
        chooser = lambda k, now, rng: rng.choice(names)  # noqa: E731
    elif name == "oracle":
        chooser = lambda k, now, rng: max(names, key=(exp[0] if k < requests // 2 else exp[1]).__getitem__)  # noqa: E731
    else:
        chooser = engine_chooser(t, modes.Mode(name), state)
    world, choice_rng = random.Random(seed), random.Random(seed + 1)
    bucket = thompson.bucket_of(IN_TOKENS)
    picks_value: list[float] = []
    realised = 0.0
    for k in range(requests):
        now = float(k)
        phase, phase_exp = (BEFORE, exp[0]) if k < requests // 2 else (AFTER, exp[1])
        m = chooser(k, now, choice_rng)
        ok, latency, usd = outcome(m, phase, world)
        r = reward_of(ok, latency, usd)
        realised += r
        picks_value.append(phase_exp[m])
        hv, bv = state.health, state.bandit
        h = hv.get(f"p-{m}", health.ProviderHealth())
        hv[f"p-{m}"] = health.on_success(h, latency, now, hs) if ok else health.on_failure(h, now, hs)
        bv[(m, bucket)] = thompson.observe(bv.get((m, bucket), thompson.ArmStats()), r, now, HALF_LIFE_S)
    return Result(picks_value, realised)


def recovery(values: list[float], oracle_after: float, drift: int) -> int | None:
    """Requests after the drift until the trailing-100 mean expected reward reaches 95 % of the oracle's."""
    for k in range(50, len(values) - drift + 1):
        window = values[max(drift, drift + k - WINDOW) : drift + k]
        if sum(window) / len(window) >= 0.95 * oracle_after:
            return k
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    exp = (expected(BEFORE, 11), expected(AFTER, 12))
    print("expected reward per model, before / after the drift:")
    for m in sorted(MODELS):
        print(f"  {m:13s} {exp[0][m]:.3f} / {exp[1][m]:.3f}   cost/request {cost(m):.6f} USD")
    drift = args.requests // 2
    results = {}
    for name in ["oracle", "thompson", "cheap", "normal", "high_confidence", "planning", "round_robin", "random"]:
        results[name] = run(name, args.requests, args.seed, exp)
    oracle = sum(results["oracle"].values)
    oracle_after = max(exp[1].values())
    print(
        f"\n{args.requests} requests, drift at {drift}, half-life {HALF_LIFE_S:.0f} s (1 request/s), seed {args.seed}"
    )
    print(f"{'strategy':16s} {'exp. reward':>11s} {'% oracle':>8s} {'regret':>7s} {'realised':>8s} {'recovery':>8s}")
    for name, res in results.items():
        values = res.values
        total = sum(values)
        rec = recovery(values, oracle_after, drift)
        print(
            f"{name:16s} {total:11.1f} {100 * total / oracle:7.1f}% {oracle - total:7.1f} {res.realised:8.1f}"
            f" {('-' if rec is None else str(rec)):>8s}"
        )


if __name__ == "__main__":
    main()
