"""Every panel of the shipped dashboards returns data from a real Prometheus scraping two gateways under load.

Debian's ``prometheus`` runs on loopback with a 1 s scrape interval and the chart's rules file; two gateways (one
in the fixture, one more on the same Postgres) take traffic while it scrapes. Each panel query is then evaluated
through the HTTP API with Grafana's ``$__rate_interval`` and ``$__range`` filled in: each must return at least one
series, and every metric it names must exist in Prometheus. The rules must load and evaluate without errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from gateway import app as app_mod
from gateway import server as server_mod
from gateway import settings as settings_mod
from gateway.api import inbound
from tests.integration import observability_traffic as traffic
from tests.plugins import prometheus
from tests.plugins.gateway import ADMIN_TOKEN, VAULT_PASSWORD, Gateway
from tests.plugins.processes import free_port

SCRAPE_S = 1
RATE_INTERVAL = "30s"  # Grafana's $__rate_interval at a 1 s scrape interval is at least 4 scrapes
RANGE = "5m"


@pytest.fixture
def gateway_settings(gateway_settings: settings_mod.Settings) -> settings_mod.Settings:
    return dataclasses.replace(gateway_settings, health_probes=True)


@contextlib.asynccontextmanager
async def second_gateway(first: Gateway, settings: settings_mod.Settings) -> AsyncIterator[Gateway]:
    """Another replica on the fixture's Postgres and fake upstreams, in this event loop."""
    settings = dataclasses.replace(settings, host="127.0.0.1", port=free_port(), data_dir=settings.data_dir / "b")
    runtime = app_mod.create_runtime(settings, first.database_url, VAULT_PASSWORD)
    app = app_mod.create_app(runtime, ADMIN_TOKEN, inbound.Limits.of(settings))
    server = uvicorn.Server(server_mod.uvicorn_config(app, settings))
    task = asyncio.create_task(server.serve(), name="second-gateway")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield dataclasses.replace(
            first, url=f"http://127.0.0.1:{settings.port}", runtime=runtime, server=server, serving=task
        )
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def prometheus_server(tmp_path: pathlib.Path, targets: list[str]) -> AsyncIterator[str]:
    port = free_port()
    config = {
        "global": {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{SCRAPE_S}s"},
        "rule_files": [str(traffic.FILES / "prometheus-rules.yaml")],
        "scrape_configs": [{"job_name": "tokenhub", "static_configs": [{"targets": targets}]}],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log = tmp_path / "prometheus.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, stopped in finally
            [
                prometheus.binary("prometheus"),
                f"--config.file={path}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                if proc.poll() is not None:
                    raise AssertionError(log.read_text()[-3000:])
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/-/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("prometheus did not become ready in 15 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def query(client: httpx.AsyncClient, url: str, expr: str) -> list[dict[str, Any]]:
    answer = (await client.get(f"{url}/api/v1/query", params={"query": expr})).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def grafana(expr: str) -> str:
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", RANGE)


async def scraped_after(client: httpx.AsyncClient, url: str, since: float, scrapes: int, targets: int) -> bool:
    """Whether every target was scraped ``scrapes`` times in the rate interval, the last time after ``since``.

    Prometheus applies its targets about 5 s after it starts, so the first scrape comes late; a rate needs two.
    """
    counts = await query(client, url, f'count_over_time(up{{job="tokenhub"}}[{RATE_INTERVAL}])')
    latest = await query(client, url, 'timestamp(up{job="tokenhub"} == 1)')
    return (
        len(counts) == len(latest) == targets
        and all(float(s["value"][1]) >= scrapes for s in counts)
        and all(float(s["value"][1]) > since for s in latest)
    )


async def test_every_dashboard_panel_returns_data_from_prometheus(
    gateway: Gateway, gateway_settings: settings_mod.Settings, tmp_path: pathlib.Path
) -> None:
    started = time.monotonic()
    boards = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((traffic.FILES / "dashboards").glob("*.json"))}
    assert set(boards) == {"overview", "providers-models", "keys-budgets", "replicas-config"}
    async with second_gateway(gateway, gateway_settings) as other:
        targets = [gateway.url.removeprefix("http://"), other.url.removeprefix("http://")]
        async with prometheus_server(tmp_path, targets) as prom, httpx.AsyncClient(timeout=10) as client:
            keys = await traffic.prepare(gateway, other)
            for replica in (gateway, other):
                await traffic.drive(client, replica, keys)
            since = time.time()
            rounds = 0
            # Load until Prometheus has scraped both replicas several times since the special cases ran.
            while not await scraped_after(client, prom, since, 3, len(targets)):
                for replica in (gateway, other):
                    await traffic.steady(client, replica, keys)
                rounds += 1
                assert time.monotonic() - started < 50, "prometheus did not scrape both gateways in time"
            assert rounds > 0
            names = set((await client.get(f"{prom}/api/v1/label/__name__/values")).json()["data"])
            empty: list[str] = []
            unknown: list[str] = []
            for name, board in boards.items():
                for expr in traffic.panel_queries(board):
                    metrics, _ = traffic.uses(expr)
                    unknown += [f"{name}: {m} in {expr}" for m in sorted(metrics - names)]
                    if not await query(client, prom, grafana(expr)):
                        empty.append(f"{name}: {expr}")
            rules = (await client.get(f"{prom}/api/v1/rules")).json()["data"]["groups"]
    assert unknown == []
    assert empty == [], "\n".join(empty)
    loaded = [rule for group in rules for rule in group["rules"]]
    assert len(loaded) == sum(
        len(g["rules"]) for g in yaml.safe_load((traffic.FILES / "prometheus-rules.yaml").read_text())["groups"]
    )
    assert [(r["name"], r.get("lastError")) for r in loaded if r["health"] == "err"] == []
    assert time.monotonic() - started < 60
