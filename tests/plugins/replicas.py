"""A fleet of `tokenhub serve` replicas on one Postgres, with `bench/mock_upstream.py` as their provider.

The configuration is applied once through ``standalone.apply_path`` (the code path of `tokenhub apply`), which
writes each ApiKey's key under ``<apply dir>/keys/<namespace>/<name>``; every replica then starts without a
folder, like a pod in Kubernetes. The mock upstream fixes usage from the request (prompt tokens = upstream body
bytes // 4, completion tokens = ``--stream-chunks``), so a request's cost is known and its estimate is an upper
bound when it asks for ``max_tokens`` equal to the mock's chunk count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from psycopg import conninfo

from gateway import settings as settings_mod
from gateway import standalone
from gateway.accounting import values
from gateway.config import egress
from gateway.store import embedded, leases_repo, migrate
from tests.plugins.processes import GatewayProcess, free_port

VAULT_PASSWORD = "replica fleet vault password, long enough"
MOCK = pathlib.Path(__file__).parents[2] / "bench" / "mock_upstream.py"
COMPLETION_TOKENS = 20  # the mock's --stream-chunks; requests ask for exactly this many tokens
INPUT_PER_1K = Decimal("0.01")
OUTPUT_PER_1K = Decimal("0.02")

FLEET_MANIFESTS = """\
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: mock}}
spec: {{type: openai-compatible, baseURL: "{upstream}", timeoutSeconds: 10}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: mock-small}}
spec:
  providerRef: mock
  upstreamModel: mock-small
  contextWindow: 128000
  pricing: {{inputPer1K: {input_price}, outputPer1K: {output_price}}}
  capabilities: [chat]
"""


def fleet_manifests(upstream_url: str, extra: str = "") -> str:
    """The mock provider, its one model, and ``extra`` documents (ApiKeys, more models) after them."""
    head = FLEET_MANIFESTS.format(upstream=upstream_url, input_price=INPUT_PER_1K, output_price=OUTPUT_PER_1K)
    return head + (f"---\n{extra}" if extra else "")


def chat_body(text: str, *, stream: bool = False, model: str = "mock-small") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": COMPLETION_TOKENS,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """What a client saw for one request."""

    status: int
    request_id: str | None
    code: str | None = None  # the error code of a refusal (budget_exceeded, rate_limit_exceeded, ...)
    done: bool = False  # a stream that ended with `data: [DONE]`
    at: float = 0.0  # time.time() when the reply was complete


async def chat(client: httpx.AsyncClient, url: str, key: str, body: dict[str, Any]) -> Reply:
    """One chat completion through a replica; a stream is read to its end."""
    headers = {"authorization": f"Bearer {key}"}
    if not body.get("stream"):
        response = await client.post(f"{url}/v1/chat/completions", json=body, headers=headers)
        code = None
        if response.status_code != 200:
            code = orjson.loads(response.content).get("error", {}).get("code")
        return Reply(response.status_code, response.headers.get("x-tokenhub-request-id"), code, at=time.time())
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as response:
        raw = await response.aread()
    done = response.status_code == 200 and raw.rstrip().endswith(b"data: [DONE]")
    return Reply(response.status_code, response.headers.get("x-tokenhub-request-id"), done=done, at=time.time())


@dataclasses.dataclass
class MockUpstream:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@dataclasses.dataclass
class Fleet:
    database_url: str
    apply_dir: pathlib.Path  # data dir of the apply: issued keys live under keys/<namespace>/<name>
    gateways: list[GatewayProcess]

    def key(self, name: str, namespace: str = "default") -> str:
        return (self.apply_dir / "keys" / namespace / name).read_text().strip()

    async def apply(self, text: str) -> int:
        """Apply a new version of the whole manifest folder (pruning what is gone); returns its revision."""
        folder = self.apply_dir / "manifests"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "fleet.yaml").write_text(text)
        settings = settings_mod.Settings(data_dir=self.apply_dir, vault_password=VAULT_PASSWORD)
        report = await standalone.apply_path(self.database_url, folder, settings, prune=True)
        return report.result.revision

    async def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def logged(
        self, key_name: str, replies: Sequence[Reply], timeout_s: float = 15.0
    ) -> dict[str, list[tuple[int, Decimal]]]:
        """The key's request-log rows by request id, once every reply's request id has a row (or the timeout)."""
        wanted = {reply.request_id for reply in replies}
        deadline = time.monotonic() + timeout_s
        while True:
            rows = await self.query(
                "SELECT request_id, status, cost_usd FROM request_logs WHERE key_name = %s", key_name
            )
            missing = wanted - {row[0] for row in rows}
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert not missing, f"{len(missing)} of {len(wanted)} requests of {key_name} not logged after {timeout_s}s"
        by_id: dict[str, list[tuple[int, Decimal]]] = {}
        for request_id, status, cost in rows:
            by_id.setdefault(request_id, []).append((status, cost))
        return by_id

    async def usage(self, key_name: str, namespace: str = "default") -> leases_repo.Usage:
        """The spend a status report shows for the key this month (``leases_repo.usage``)."""
        period = values.period_of(dt.datetime.now(dt.UTC))
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            use = await leases_repo.usage(conn, leases_repo.BudgetKey(namespace, key_name, period))
        assert use is not None, f"no budget period {period} for {namespace}/{key_name}"
        return use

    async def reported_spend(self, key_name: str, namespace: str = "default") -> Decimal:
        """The spend the ApiKey's status reports for this month."""
        return await leases_repo.spend_this_month(self.database_url, namespace, key_name, dt.datetime.now(dt.UTC))


def start_mock(tmp_path: pathlib.Path, *, chunk_delay_ms: float = 0.0) -> MockUpstream:
    port = free_port()
    log = tmp_path / f"mock-{port}.log"
    args = ["--port", str(port), "--stream-chunks", str(COMPLETION_TOKENS), "--chunk-delay-ms", str(chunk_delay_ms)]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(MOCK), *args], stdout=out, stderr=out)
    mock = MockUpstream(proc, port)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{mock.url}/models", timeout=1).status_code == 200:
                return mock
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"mock upstream not up:\n{log.read_text(errors='replace')}")


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """SIGTERM every process first, then wait for each (their drains overlap); kill what does not exit."""
    running = [proc for proc in procs if proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    for proc in running:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


StartFleet = Callable[..., Awaitable[Fleet]]
StartMock = Callable[..., MockUpstream]


@pytest.fixture
def mock_upstreams(tmp_path: pathlib.Path) -> Iterator[StartMock]:
    """Start `bench/mock_upstream.py` processes on loopback: ``start(chunk_delay_ms=0)``."""
    started: list[MockUpstream] = []

    def start(*, chunk_delay_ms: float = 0.0) -> MockUpstream:
        mock = start_mock(tmp_path, chunk_delay_ms=chunk_delay_ms)
        started.append(mock)
        return mock

    yield start
    stop(*(mock.proc for mock in started))


async def until_ready(gateway: GatewayProcess, timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            if gateway.proc.poll() is not None:
                raise AssertionError(f"replica exited with {gateway.proc.returncode}:\n{gateway.log()}")
            try:
                if (await client.get(f"{gateway.url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"replica not ready after {timeout_s}s:\n{gateway.log()}")


def spawn_replica(tmp_path: pathlib.Path, index: int, database_url: str, env: Mapping[str, str]) -> GatewayProcess:
    """`tokenhub serve` without a folder (its config comes from Postgres), with its own port and spool."""
    port = free_port()
    replica_env = {
        **os.environ,
        "TOKENHUB_DATABASE_URL": database_url,
        "TOKENHUB_DATA_DIR": str(tmp_path / f"replica-{index}"),
        "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD,
        "TOKENHUB_HEALTH_PROBES": "false",
        "TOKENHUB_CONFIG_POLL_SECONDS": "0.2",
        "TOKENHUB_HOST": "127.0.0.1",
        "TOKENHUB_PORT": str(port),
        "TOKENHUB_LOG_LEVEL": "warning",
        "TOKENHUB_PROVIDER_ALLOW": egress.LOOPBACK_ALLOW,  # the fake upstreams listen on loopback
        **env,
    }
    log_path = tmp_path / f"replica-{index}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=replica_env, stdout=out, stderr=out)
    return GatewayProcess(proc, port, log_path)


@pytest.fixture
def fleet(tmp_path: pathlib.Path) -> Iterator[StartFleet]:
    """Apply manifests to a database, then start replicas on it: ``await start(url, manifests, count=3, env={})``."""
    started: list[GatewayProcess] = []

    async def start(database_url: str, manifests: str, count: int = 3, env: Mapping[str, str] | None = None) -> Fleet:
        fleet = Fleet(database_url, tmp_path / "apply", [])
        await fleet.apply(manifests)
        for index in range(count):
            gateway = spawn_replica(tmp_path, index, database_url, env or {})
            started.append(gateway)
            fleet.gateways.append(gateway)
        await asyncio.gather(*(until_ready(gateway) for gateway in fleet.gateways))
        return fleet

    yield start
    stop(*(gateway.proc for gateway in started))


@dataclasses.dataclass
class RestartablePostgres:
    """A Postgres of the test's own, stopped and started with pg_ctl the way pgserver runs it."""

    server: embedded.EmbeddedPostgres
    running: bool = True

    @property
    def url(self) -> str:
        return self.server.url

    def _pg_ctl(self, args: list[str]) -> None:
        from pgserver import _commands  # the pg_ctl pgserver itself runs (as its own system user under root)

        pg = self.server._server
        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary in its bin folder
        pg_ctl(args, pgdata=pg.pgdata, user=pg.system_user, timeout=30)

    def stop(self) -> None:
        self._pg_ctl(["-w", "stop", "-m", "fast"])  # fast: open connections are cut, as in a crash or failover
        self.running = False

    def start(self) -> None:
        pg = self.server._server
        socket_dir = conninfo.conninfo_to_dict(self.url)["host"]
        self._pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pg.log), "start"])
        self.running = True


@pytest.fixture
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A migrated database on a dedicated embedded server (short path: Unix socket paths are limited)."""
    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="thpgr-"))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, imported by pgserver
        server = embedded.start(data_dir)
    pg = RestartablePostgres(server)
    try:
        asyncio.run(migrate.migrate(pg.url))
        yield pg
    finally:
        if not pg.running:
            pg.start()  # the cleanup below stops it; a test that failed while it was down left it stopped
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
