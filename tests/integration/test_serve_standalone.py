"""`tokenhub serve -f examples`: ready once configured, metrics exposed, SIGTERM drains and exits 0."""

from __future__ import annotations

import pathlib
import signal
from collections.abc import Callable, Mapping

import httpx
import pytest

from tests.plugins.processes import GatewayProcess, free_port

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
StartGateway = Callable[[list[str], Mapping[str, str]], GatewayProcess]


def test_serve_loads_the_folder_reports_ready_and_exits_cleanly_on_sigterm(
    start_gateway: StartGateway, database_url: str, tmp_path: pathlib.Path
) -> None:
    env = {
        "TOKENHUB_DATABASE_URL": database_url,
        "TOKENHUB_DATA_DIR": str(tmp_path / "data"),
        "TOKENHUB_VAULT_PASSWORD": "a long enough vault password",
        "TOKENHUB_DRAIN_DELAY_SECONDS": "1",
    }
    gateway = start_gateway(["-f", str(EXAMPLES)], env)
    gateway.wait_ready()
    assert httpx.get(f"{gateway.url}/livez").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz").json()
    assert ready["config_revision"] == 1
    assert ready["routable_models"] == 1  # only the keyless local model: the others lack credentials
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert "tokenhub_config_revision 1.0" in metrics
    assert 'tokenhub_config_reloads_total{result="ok"} 1.0' in metrics
    gateway.proc.send_signal(signal.SIGTERM)
    draining = httpx.get(f"{gateway.url}/readyz")
    assert draining.status_code == 503
    assert draining.json()["reason"] == "draining"
    assert gateway.terminate() == 0, gateway.log()


def test_serve_refuses_an_invalid_folder_with_exit_code_2(
    start_gateway: StartGateway, database_url: str, tmp_path: pathlib.Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: tokenhub.io/v1alpha1\nkind: Model\nmetadata: {name: m}\nspec: {providerRef: p}\n")
    gateway = start_gateway(["-f", str(bad)], {"TOKENHUB_DATABASE_URL": database_url})
    assert gateway.proc.wait(60) == 2
    assert "spec.upstreamModel: Field required" in gateway.log()


def test_a_restart_without_a_folder_opens_the_credentials_sealed_with_the_generated_password(
    start_gateway: StartGateway, database_url: str, tmp_path: pathlib.Path
) -> None:
    env = {
        "TOKENHUB_DATABASE_URL": database_url,
        "TOKENHUB_DATA_DIR": str(tmp_path / "data"),
        "TOKENHUB_VAULT_PASSWORD": "",
        "TOKENHUB_SECRET_OPENAI_CREDENTIALS_APIKEY": "sk-test-credential",
    }
    first = start_gateway(["-f", str(EXAMPLES)], env)
    first.wait_ready()
    assert httpx.get(f"{first.url}/readyz").json()["routable_models"] == 3  # the local model and the two OpenAI ones
    assert first.terminate() == 0, first.log()
    assert (tmp_path / "data" / "vault-password").exists()

    restarted = start_gateway([], env)
    restarted.wait_ready()
    ready = httpx.get(f"{restarted.url}/readyz").json()
    assert ready["config_revision"] == 1
    assert ready["routable_models"] == 3
    assert restarted.terminate() == 0, restarted.log()


def test_metrics_on_their_own_port_are_not_served_on_the_main_port(
    start_gateway: StartGateway, database_url: str, tmp_path: pathlib.Path
) -> None:
    metrics_port = free_port()
    env = {
        "TOKENHUB_DATABASE_URL": database_url,
        "TOKENHUB_DATA_DIR": str(tmp_path / "data"),
        "TOKENHUB_VAULT_PASSWORD": "a long enough vault password",
        "TOKENHUB_METRICS_PORT": str(metrics_port),
    }
    gateway = start_gateway(["-f", str(EXAMPLES)], env)
    gateway.wait_ready()
    assert httpx.get(f"{gateway.url}/metrics").status_code == 404
    separate = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert separate.status_code == 200
    assert "tokenhub_config_revision 1.0" in separate.text
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/v1/models").status_code == 404  # nothing else there
    assert gateway.terminate() == 0, gateway.log()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
