"""Run gateway processes the way users do (`tokenhub serve`), on loopback ports, and stop them cleanly."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx
import pytest

from gateway.config import egress


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class GatewayProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: pathlib.Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gateway not ready after {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@pytest.fixture
def start_gateway(tmp_path: pathlib.Path) -> Iterator[object]:
    started: list[GatewayProcess] = []

    def start(args: list[str], env: Mapping[str, str]) -> GatewayProcess:
        port = free_port()
        log_path = tmp_path / f"gateway-{port}.log"
        full_env = {
            **os.environ,
            "TOKENHUB_PORT": str(port),
            "TOKENHUB_HOST": "127.0.0.1",
            "TOKENHUB_PROVIDER_ALLOW": egress.LOOPBACK_ALLOW,  # the fake upstreams listen on loopback
            **env,
        }
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", *args], env=full_env, stdout=log, stderr=log
            )
        gateway = GatewayProcess(proc, port, log_path)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        if gateway.proc.poll() is None:
            gateway.proc.kill()
            gateway.proc.wait()
