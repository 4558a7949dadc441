"""Aggregate throughput of 1, 2 and 3 gateway replicas on one Postgres, and Postgres statements per request.

Starts an embedded Postgres with ``log_statement = 'all'``, the mock upstream (bench/mock_upstream.py) and N
`tokenhub serve` processes with one ApiKey that carries a monthly budget and an rpm limit (so every request goes
through the lease path). wrk drives each replica with connections/N connections, all at once. Statements are
counted from the Postgres log between two marker queries and attributed to the connection (backend pid) that
sent them; gateway CPU per request is read from /proc. Loopback only; every run is bounded by --duration.

    .venv/bin/python bench/replicas_bench.py --duration 20 --connections 32      (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import httpx
import psycopg

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway import settings as settings_mod  # noqa: E402
from gateway import standalone  # noqa: E402
from gateway.store import embedded, migrate  # noqa: E402
from tests.plugins.processes import free_port  # noqa: E402

VAULT_PASSWORD = "replicas bench vault password, long enough"
MANIFEST = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: mock}}
spec: {{type: openai-compatible, baseURL: "http://127.0.0.1:{port}/v1", timeoutSeconds: 30}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: mock-small}}
spec:
  providerRef: mock
  upstreamModel: mock-small
  contextWindow: 128000
  pricing: {{inputPer1K: 0.00015, outputPer1K: 0.0006}}
  capabilities: [chat]
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {{name: bench}}
spec: {{scopes: [chat, models], monthlyBudgetUSD: 1000000, rateLimit: {{rpm: 10000000}}}}
"""
ENTRY_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:")
LOG_LINE = re.compile(r"\[(\d+)\] LOG:  (?:statement|execute [^:]*): (.*)")
ROLES = (  # what a backend's statements say about the gateway connection behind it
    ("request log", ("request_logs", "budget_charges")),
    ("leases", ("budget_leases", "budget_periods", "rate_windows")),
    ("config listener", ("config_revision", "LISTEN")),
    ("shared statistics", ("provider_health", "bandit_stats")),
)


@dataclasses.dataclass
class Run:
    replicas: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_s: float
    postgres_cpu_s: float
    statements: collections.Counter[str]
    transactions: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (its threads included)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids(pgdata: pathlib.Path) -> list[int]:
    """The postmaster and every backend under it."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], check=False, capture_output=True, text=True
    ).stdout.split()
    return [postmaster, *map(int, children)]


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"not up: {url}")


def mark(url: str, label: str) -> int:
    """A marker statement in the Postgres log; returns the database's committed transactions so far."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SELECT 'replicas-bench {label}'")  # a fixed label of this script
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def log_entries(log: pathlib.Path) -> list[str]:
    """The Postgres log's entries, a statement's continuation lines joined to the line that starts it."""
    entries: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if ENTRY_START.match(line) or not entries:
            entries.append(line)
        else:
            entries[-1] += " " + line.strip()
    return entries


def count_statements(log: pathlib.Path, start: str, end: str) -> collections.Counter[str]:
    """Statements between the two markers, by the role of the connection that sent them."""
    entries = log_entries(log)
    begin = next(i for i, entry in enumerate(entries) if f"replicas-bench {start}" in entry)
    stop = next(i for i, entry in enumerate(entries) if f"replicas-bench {end}" in entry)
    by_pid: dict[str, list[str]] = collections.defaultdict(list)
    for entry in entries[:stop]:  # roles are learned from everything a backend sent, before the window too
        match = LOG_LINE.search(entry)
        if match:
            by_pid[match.group(1)].append(match.group(2))
    roles = {
        pid: next((role for role, words in ROLES if any(w in s for s in texts for w in words)), "other")
        for pid, texts in by_pid.items()
    }
    counted: collections.Counter[str] = collections.Counter()
    for entry in entries[begin + 1 : stop]:
        match = LOG_LINE.search(entry)
        if match and "replicas-bench" not in match.group(2) and "pg_stat_database" not in match.group(2):
            counted[roles.get(match.group(1), "other")] += 1
    return counted


def parse_wrk(out: str) -> tuple[int, int, float, float]:
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0

    def percentile(name: str) -> float:
        match = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", out)
        assert match is not None, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    return requests, errors, percentile("50"), percentile("99")


async def wrk_all(urls: list[str], key: str, connections: int, duration: float) -> list[str]:
    env = {**os.environ, "BENCH_KEY": key, "BENCH_STREAM": "0"}
    script = str(ROOT / "bench" / "gateway_post.lua")
    per = max(1, connections // len(urls))
    procs = [
        await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{per}",
            f"-d{round(duration)}s",
            "--latency",
            "-s",
            script,
            url,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for url in urls
    ]
    return [(await proc.communicate())[0].decode() for proc in procs]


def start_replica(work: pathlib.Path, index: int, url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TOKENHUB_DATABASE_URL": url,
        "TOKENHUB_DATA_DIR": str(work / f"replica-{index}"),
        "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD,
        "TOKENHUB_HEALTH_PROBES": "false",
        "TOKENHUB_LOG_LEVEL": "warning",
        "TOKENHUB_HOST": "127.0.0.1",
        "TOKENHUB_PORT": str(port),
    }
    with (work / f"replica-{index}.log").open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env, stdout=out, stderr=out)
    return proc, f"http://127.0.0.1:{port}"


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(work: pathlib.Path, pg: embedded.EmbeddedPostgres, key: str, n: int, args: argparse.Namespace) -> Run:
    pgdata = pg.data_dir / "postgres"
    started = [start_replica(work, i, pg.url) for i in range(n)]
    procs = [proc for proc, _ in started]
    urls = [url for _, url in started]
    try:
        for url in urls:
            wait_http(f"{url}/readyz", 60)
        asyncio.run(wrk_all(urls, key, args.connections, args.warmup))  # leases taken, pools warm
        xact_before = mark(pg.url, f"start {n}")
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        pg_before = sum(cpu_seconds(pid) for pid in postgres_pids(pgdata))
        began = time.monotonic()
        outputs = asyncio.run(wrk_all(urls, key, args.connections, args.duration))
        seconds = time.monotonic() - began
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        pg_cpu = sum(cpu_seconds(pid) for pid in postgres_pids(pgdata)) - pg_before
        xact_after = mark(pg.url, f"end {n}")
    finally:
        stop_all(procs)
    parsed = [parse_wrk(out) for out in outputs]
    requests = sum(p[0] for p in parsed)
    return Run(
        replicas=n,
        requests=requests,
        errors=sum(p[1] for p in parsed),
        seconds=min(seconds, args.duration + 0.5),
        p50_ms=max(p[2] for p in parsed),
        p99_ms=max(p[3] for p in parsed),
        gateway_cpu_s=cpu,
        postgres_cpu_s=pg_cpu,
        statements=count_statements(pgdata / "log", f"start {n}", f"end {n}"),
        transactions=xact_after - xact_before - 1,  # minus the end marker's own
    )


def report(runs: list[Run]) -> None:
    print(
        "| replicas | requests | req/s | non-2xx | P50 (worst replica) | P99 (worst replica) "
        "| gateway CPU / request | Postgres CPU / request | statements / request | transactions / request |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        total = sum(run.statements.values())
        print(
            f"| {run.replicas} | {run.requests:,} | {run.rps:,.0f} | {run.errors} | {run.p50_ms:.1f} ms"
            f" | {run.p99_ms:.1f} ms | {run.gateway_cpu_s / run.requests * 1e6:,.0f} µs"
            f" | {run.postgres_cpu_s / run.requests * 1e6:,.0f} µs | {total / run.requests:.4f}"
            f" | {run.transactions / run.requests:.4f} |"
        )
    print()
    print("| replicas | statements in the window, by the connection that sent them | statements/s per replica |")
    print("|---|---|---|")
    for run in runs:
        parts = ", ".join(f"{role} {count}" for role, count in sorted(run.statements.items()))
        per_s = sum(run.statements.values()) / run.seconds / run.replicas
        print(f"| {run.replicas} | {parts} (over {run.seconds:.1f} s) | {per_s:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replicas", default="1,2,3", help="replica counts to measure, in order")
    parser.add_argument("--connections", type=int, default=32, help="total wrk connections, split over replicas")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per replica count")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--mock-port", type=int, default=0, help="0: a free port")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = pathlib.Path(tempfile.mkdtemp(prefix="threp-"))
    mock_port = args.mock_port or free_port()
    mock = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(mock_port), "--stream-chunks", "20"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pg = embedded.start(work / "pg")
    try:
        wait_http(f"http://127.0.0.1:{mock_port}/v1/models", 15)
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            conn.execute("SELECT pg_reload_conf()")
        asyncio.run(migrate.migrate(pg.url))
        folder = work / "manifests"
        folder.mkdir()
        (folder / "bench.yaml").write_text(MANIFEST.format(port=mock_port))
        settings = settings_mod.Settings(data_dir=work / "apply", vault_password=VAULT_PASSWORD)
        asyncio.run(standalone.apply_path(pg.url, folder, settings, prune=True))
        key = (work / "apply" / "keys" / "default" / "bench").read_text().strip()
        runs = []
        for n in (int(x) for x in args.replicas.split(",")):
            runs.append(measure(work, pg, key, n, args))
            print(f"measured {n} replica(s): {runs[-1].rps:,.0f} req/s", file=sys.stderr)
        report(runs)
    finally:
        mock.terminate()
        mock.wait(10)
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
