"""kubectl apply configures every gateway: the operator, as a least-privileged process, on a real API server."""

from __future__ import annotations

import base64
import pathlib
import textwrap
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from e2e import stack as stack_mod
from e2e.controlplane.cluster import Cluster
from e2e.stack import Stack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_mod.start(control_plane, pathlib.Path(tmp_path_factory.mktemp("stack")))


def manifests(upstream_url: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: mock-creds
          namespace: default
          labels: {{tokenhub.io/provider-credential: "true"}}
        stringData: {{apiKey: sk-mock-0123456789}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: mock, namespace: default}}
        spec: {{type: openai, baseURL: "{upstream_url}", apiKeySecretRef: {{name: mock-creds}}}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Model
        metadata: {{name: small, namespace: default}}
        spec:
          providerRef: mock
          upstreamModel: mock-small
          pricing: {{inputPer1K: 0.001, outputPer1K: 0.002}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {{name: app, namespace: default}}
        spec: {{scopes: [chat, models], owner: team-a}}
        """
    )


def issued_key(stack: Stack, secret: str = "app-key") -> str:
    encoded = stack.kubectl("get", "secret", secret, "-o", "jsonpath={.data.apiKey}")
    return base64.b64decode(encoded).decode()


def chat(stack: Stack, key: str, model: str = "small") -> httpx.Response:
    return httpx.post(
        f"{stack.gateway_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hello from the cluster"}]},
        timeout=10,
    )


def wait_for_condition(stack: Stack, resource: str, condition: str = "Ready", value: str = "True") -> None:
    stack.kubectl("wait", f"--for=condition={condition}={value}", resource, "--timeout=60s")


def test_applied_resources_become_ready_with_printer_columns(stack: Stack) -> None:
    stack.kubectl("apply", "-f", "-", stdin=manifests(stack.upstream_url))
    for resource in ("provider/mock", "model/small", "apikey/app"):
        wait_for_condition(stack, resource)
    providers = stack.kubectl("get", "providers")
    assert providers.split("\n")[0].split() == ["NAME", "TYPE", "HEALTH", "READY", "AGE"]
    assert providers.split("\n")[1].split()[:2] == ["mock", "openai"]
    assert "True" in providers.split("\n")[1]
    everything = stack.kubectl("get", "tokenhub")
    assert "model.tokenhub.io/small" in everything and "apikey.tokenhub.io/app" in everything
    assert "thkey" in stack.kubectl("api-resources", "--api-group=tokenhub.io")


def test_the_issued_key_is_in_a_secret_and_works_on_the_gateway(stack: Stack) -> None:
    key = issued_key(stack)
    key_id = stack.kubectl("get", "apikey", "app", "-o", "jsonpath={.status.keyId}")
    assert key.startswith(f"thk_{key_id}_")
    assert key not in stack.kubectl("get", "apikey", "app", "-o", "yaml")
    assert key not in stack.operator.log()
    wait_until(lambda: chat(stack, key).status_code == 200, 30, "the gateway to accept the key", stack.gateway.log)
    response = chat(stack, key)
    assert response.headers["x-tokenhub-model"] == "small"


def test_patching_a_price_changes_what_the_gateway_charges(stack: Stack) -> None:
    key = issued_key(stack)
    before = stack.revision()
    stack.kubectl("patch", "model", "small", "--type=merge", "-p", '{"spec":{"pricing":{"inputPer1K":0.01}}}')
    wait_until(lambda: stack.revision() > before, 30, "the new price to reach the gateway", stack.operator.log)
    response = chat(stack, key)
    assert response.status_code == 200
    request_id = response.headers["x-tokenhub-request-id"]

    def logged() -> bool:
        return bool(stack.query("SELECT 1 FROM request_logs WHERE request_id = %s", request_id))

    wait_until(logged, 10, "the request log row")
    ((tokens_in, tokens_out, cost),) = stack.query(
        "SELECT input_tokens, output_tokens, cost_usd FROM request_logs WHERE request_id = %s", request_id
    )
    assert cost == (Decimal("0.01") * tokens_in + Decimal("0.002") * tokens_out) / 1000  # type: ignore[operator]


def test_invalid_resources_are_rejected_by_the_api_server(stack: Stack) -> None:
    both = textwrap.dedent(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {name: bad, namespace: default}
        spec: {type: vllm, baseURL: "http://127.0.0.1:1/v1", endpoints: ["http://127.0.0.1:2/v1"]}
        """
    )
    result = stack.cluster.kubectl("apply", "-f", "-", stdin=both, check=False)
    assert result.returncode != 0
    assert "set exactly one of baseURL or endpoints" in result.stderr
    heavy = textwrap.dedent(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: Model
        metadata: {name: heavy, namespace: default}
        spec: {providerRef: mock, upstreamModel: x, weight: 11}
        """
    )
    result = stack.cluster.kubectl("apply", "-f", "-", stdin=heavy, check=False)
    assert result.returncode != 0
    assert "spec.weight" in result.stderr and "less than or equal to 10" in result.stderr


def test_a_model_of_a_missing_provider_is_not_ready_with_a_reason(stack: Stack) -> None:
    orphan = textwrap.dedent(
        """
        apiVersion: tokenhub.io/v1alpha1
        kind: Model
        metadata: {name: orphan, namespace: default}
        spec: {providerRef: ghost, upstreamModel: x}
        """
    )
    stack.kubectl("apply", "-f", "-", stdin=orphan)
    stack.kubectl(
        "wait",
        '--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=ProviderNotFound',
        "model/orphan",
        "--timeout=60s",
    )
    wait_for_condition(stack, "model/orphan", value="False")


def test_a_provider_waits_for_its_secret_and_recovers_when_it_appears(stack: Stack) -> None:
    provider = textwrap.dedent(
        f"""
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: later, namespace: default}}
        spec: {{type: openai, baseURL: "{stack.upstream_url}", apiKeySecretRef: {{name: later-creds}}}}
        """
    )
    stack.kubectl("apply", "-f", "-", stdin=provider)
    wait_for_condition(stack, "provider/later", "CredentialsResolved", "False")
    reason = stack.kubectl(
        "get", "provider", "later", "-o", 'jsonpath={.status.conditions[?(@.type=="CredentialsResolved")].reason}'
    )
    assert reason == "SecretNotFound"
    secret = textwrap.dedent(
        """
        apiVersion: v1
        kind: Secret
        metadata:
          name: later-creds
          namespace: default
          labels: {tokenhub.io/provider-credential: "true"}
        stringData: {apiKey: sk-later-0123456789}
        """
    )
    stack.kubectl("apply", "-f", "-", stdin=secret)
    wait_for_condition(stack, "provider/later")


def test_rotating_a_key_keeps_the_old_one_valid_for_the_grace_period(stack: Stack) -> None:
    old_key = issued_key(stack)
    old_id = stack.kubectl("get", "apikey", "app", "-o", "jsonpath={.status.keyId}")
    stack.kubectl("annotate", "apikey", "app", "tokenhub.io/rotate=first", "--overwrite")
    wait_until(
        lambda: stack.kubectl("get", "apikey", "app", "-o", "jsonpath={.status.keyId}") != old_id,
        60,
        "the rotated key",
        stack.operator.log,
    )
    new_key = issued_key(stack)
    assert new_key != old_key
    spend = stack.kubectl("get", "apikey", "app", "-o", "jsonpath={.status.spendUSD}")
    assert float(spend) > 0, "the status reports what the key spent this month"
    wait_until(lambda: chat(stack, new_key).status_code == 200, 30, "the new key to work", stack.gateway.log)
    assert chat(stack, old_key).status_code == 200


def test_deleting_a_provider_stops_its_models_and_removes_its_rows(stack: Stack) -> None:
    key = issued_key(stack)
    stack.kubectl("delete", "provider", "mock", "--timeout=60s")
    found = stack.query(
        "SELECT 1 FROM config_objects WHERE kind = 'Provider' AND namespace = 'default' AND name = 'mock'"
    )
    assert found == []
    wait_until(lambda: chat(stack, key).status_code == 404, 30, "the model to stop routing", stack.gateway.log)


def policy(name: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: tokenhub.io/v1alpha1
        kind: RoutingPolicy
        metadata: {{name: {name}, namespace: default}}
        spec: {{mode: cheap}}
        """
    )


def test_a_standby_operator_acts_only_once_the_active_one_is_gone(stack: Stack) -> None:
    standby = stack.start_operator(priority=10, name="operator-standby")
    try:
        wait_until(lambda: "Initial authentication has finished" in standby.log(), 30, "the standby", standby.log)
        stack.kubectl("apply", "-f", "-", stdin=policy("while-standing-by"))
        wait_for_condition(stack, "routingpolicy/while-standing-by")
        assert "Handler 'policy_changed' succeeded" in stack.operator.log()
        assert "Handler 'policy_changed'" not in standby.log()

        stack.operator.stop()
        wait_until(lambda: "Resuming operations" in standby.log(), 60, "the standby to take over", standby.log)
        stack.kubectl("apply", "-f", "-", stdin=policy("after-takeover"))
        wait_for_condition(stack, "routingpolicy/after-takeover")
        assert "Handler 'policy_changed' succeeded" in standby.log()
    finally:
        standby.stop()
