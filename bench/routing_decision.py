"""Routing decision latency: median and p99 of engine.route over 10, 100 and 1,000 models.

Run: .venv/bin/python bench/routing_decision.py [--decisions N]
Each decision is timed alone with perf_counter_ns (wall) and thread_time_ns (CPU of this thread, which
excludes time stolen by other processes on a shared machine). The table is compiled once, then gc.freeze()
moves it out of the collector's young generations, as a gateway would after swapping in a snapshot.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import platform
import random
import statistics
import time

from gateway.routing import engine, health, modes, request, table, thompson

PROVIDERS = 8


def build(n: int, seed: int = 7) -> table.RoutingTable:
    rng = random.Random(seed)
    models = [
        table.ModelView(
            name=f"model-{i:04d}",
            provider=f"provider-{i % PROVIDERS}",
            upstream_model=f"upstream-{i}",
            context_window=rng.choice([8_192, 32_768, 128_000, 200_000]),
            input_per_1k=rng.uniform(0.0001, 0.03),
            output_per_1k=rng.uniform(0.0004, 0.06),
            weight=rng.randint(0, 10),
            capabilities=frozenset({"chat", "tools"} if i % 3 else {"chat"}),
        )
        for i in range(n)
    ]
    return table.compile_table(models, [table.RoutingPolicy(max_budget_usd=1.0, min_weight=1)])


def views(t: table.RoutingTable) -> tuple[health.HealthView, thompson.BanditView]:
    hv = {p: health.ProviderHealth(latency_ms=150.0 * (k + 1), error_rate=0.01 * k) for k, p in enumerate(t.providers)}
    bucket = thompson.bucket_of(1200)
    bv = {(m.name, bucket): thompson.ArmStats(30.0 + k % 7, 12.0, 1000.0) for k, m in enumerate(t.models)}
    return hv, bv


def measure(t: table.RoutingTable, req: request.RouteRequest, decisions: int) -> tuple[list[int], list[int]]:
    hv, bv = views(t)
    rng = random.Random(1)
    wall, cpu = [], []
    perf, thread = time.perf_counter_ns, time.thread_time_ns
    route = engine.route
    for _ in range(decisions // 10):  # warm-up
        route(t, req, health=hv, bandit=bv, now=1000.0, rng=rng)
    for _ in range(decisions):
        w0, c0 = perf(), thread()
        route(t, req, health=hv, bandit=bv, now=1000.0, rng=rng)
        c1, w1 = thread(), perf()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
    return wall, cpu


def pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, decisions per row: {args.decisions}")
    print(f"{'models':>6} {'mode':>9} {'wall p50 us':>11} {'wall p99 us':>11} {'cpu p50 us':>10} {'cpu p99 us':>10}")
    base = request.RouteRequest(input_tokens=1200, max_output_tokens=512, request_id="r")
    for n in (10, 100, 1000):
        t = build(n)
        gc.collect()
        gc.freeze()
        for mode in (modes.Mode.NORMAL, modes.Mode.CHEAP, modes.Mode.THOMPSON):
            req = dataclasses.replace(base, mode=mode)
            count = args.decisions if n < 1000 else max(args.decisions // 4, 1000)
            wall, cpu = measure(t, req, count)
            print(
                f"{n:>6} {mode.value:>9} {statistics.median(wall) / 1000:>11.1f} {pct(wall, 0.99):>11.1f}"
                f" {statistics.median(cpu) / 1000:>10.1f} {pct(cpu, 0.99):>10.1f}"
            )
        gc.unfreeze()


if __name__ == "__main__":
    main()
