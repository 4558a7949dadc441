"""How long a config change takes to reach every replica: store write -> all replicas serving the revision.

Starts an embedded Postgres and N gateway processes (``tokenhub serve``), then repeatedly changes one Model's
price through the real apply path and polls each replica's ``/readyz`` until all report the new revision. The
gateways learn of revisions by LISTEN/NOTIFY, with a revision poll as the safety net (TOKENHUB_CONFIG_POLL_SECONDS).

    .venv/bin/python bench/reload_propagation.py --replicas 3 --changes 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway import settings as settings_mod  # noqa: E402
from gateway import standalone  # noqa: E402
from gateway.store import embedded, migrate  # noqa: E402
from tests.plugins.processes import free_port  # noqa: E402

MANIFEST = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: local}}
spec: {{type: openai-compatible, baseURL: "http://127.0.0.1:9/v1"}}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: m}}
spec: {{providerRef: local, upstreamModel: m, pricing: {{inputPer1K: {price}}}}}
"""


def revision(client: httpx.Client, url: str) -> int:
    return int(client.get(f"{url}/readyz").json()["config_revision"])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="th-reload-"))
    pg = embedded.start(work)
    folder = work / "manifests"
    folder.mkdir()
    settings = settings_mod.Settings(data_dir=work, vault_password="reload benchmark password")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await migrate.migrate(pg.url)
        (folder / "m.yaml").write_text(MANIFEST.format(price=0.001))
        await standalone.apply_path(pg.url, folder, settings, prune=False)
        urls = []
        for _ in range(args.replicas):
            port = free_port()
            env = {
                **os.environ,
                "TOKENHUB_DATABASE_URL": pg.url,
                "TOKENHUB_VAULT_PASSWORD": "reload benchmark password",
                "TOKENHUB_PORT": str(port),
                "TOKENHUB_CONFIG_POLL_SECONDS": str(args.poll_seconds),
                "TOKENHUB_HEALTH_PROBES": "false",
                "TOKENHUB_LOG_LEVEL": "warning",
            }
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env))
            urls.append(f"http://127.0.0.1:{port}")
        with httpx.Client(timeout=2) as client:
            for url in urls:
                for _ in range(300):
                    try:
                        if client.get(f"{url}/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
            delays, applies = [], []
            for n in range(args.changes):
                (folder / "m.yaml").write_text(MANIFEST.format(price=0.002 + n / 1e6))
                started = time.perf_counter()
                report = await standalone.apply_path(pg.url, folder, settings, prune=False)
                committed = time.perf_counter()
                target = report.result.revision
                pending = set(urls)
                while pending:
                    pending = {u for u in pending if revision(client, u) < target}
                    if pending:
                        time.sleep(0.002)
                delays.append((time.perf_counter() - committed) * 1000)
                applies.append((committed - started) * 1000)
        for label, values in (("commit -> all replicas serving", delays), ("apply (validate, unlock, write)", applies)):
            values.sort()
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(
                f"replicas={args.replicas} changes={args.changes} poll={args.poll_seconds}s {label}: "
                f"p50={statistics.median(values):.1f} ms p99={p99:.1f} ms max={values[-1]:.1f} ms"
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
