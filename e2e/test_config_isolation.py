"""What the gateways' compile cannot take never reaches them, and what only the store can reveal stays with its object.

The API server refuses, with the spec's own message, every single-object rule the compile enforces (a table of
YAML cases, dry-run so nothing is left behind). What it cannot judge - an alias another Model owns, a Secret's
bytes - is stored, reported Ready=False with the compile's reason, and the rest of the namespace is served.
"""

from __future__ import annotations

import base64
import pathlib
import textwrap
from collections.abc import Iterator

import httpx
import pytest

from e2e import stack as stack_mod
from e2e.controlplane.cluster import Cluster
from e2e.stack import Stack, wait_until

pytestmark = pytest.mark.e2e
NS = "isolation"


@pytest.fixture(scope="module")
def stack(control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    control_plane.kubectl("create", "namespace", NS, check=False)
    yield from stack_mod.start(control_plane, pathlib.Path(tmp_path_factory.mktemp("isolation")))


def policy(spec: str) -> str:
    return (
        f"apiVersion: tokenhub.io/v1alpha1\nkind: RoutingPolicy\nmetadata: {{name: p, namespace: {NS}}}\nspec: {spec}\n"
    )


def model(spec: str, name: str = "m") -> str:
    return f"apiVersion: tokenhub.io/v1alpha1\nkind: Model\nmetadata: {{name: {name}, namespace: {NS}}}\nspec: {spec}\n"


POLICY_INVALID = 'The RoutingPolicy "p" is invalid: '
MODEL_INVALID = 'The Model "m" is invalid: '
REFUSED = [
    pytest.param(
        policy("{weights: {normal: {cost: 0, latency: 0, failure: 0, weight: 0}}}"),
        "spec.weights[normal]: Invalid value: at least one of cost, latency, failure and weight must be above 0",
        id="all-weights-zero",
    ),
    pytest.param(
        policy("{fallbacks: [{model: a, to: [b, a]}]}"),
        "spec.fallbacks[0]: Invalid value: a fallback must not name its own model in to",
        id="fallback-to-itself",
    ),
    pytest.param(
        policy("{fallbacks: [{model: a, to: [b, b]}]}"),
        'spec.fallbacks[0].to[1]: Duplicate value: "b"',
        id="fallback-target-twice",
    ),
    pytest.param(
        policy("{fallbacks: [{model: a, to: [b]}, {model: a, to: [c]}]}"),
        'spec.fallbacks[1]: Duplicate value: {"model":"a"}',
        id="two-fallbacks-of-one-model",
    ),
    pytest.param(
        policy("{aliases: [{name: mix, variants: [{model: mix}]}]}"),
        "spec.aliases[0]: Invalid value: an alias must not name itself as a variant",
        id="alias-is-its-own-variant",
    ),
    pytest.param(
        policy("{aliases: [{name: mix, variants: [{model: a}, {model: a, weight: 2}]}]}"),
        'spec.aliases[0].variants[1]: Duplicate value: {"model":"a"}',
        id="variant-twice",
    ),
    pytest.param(
        model("{providerRef: p, upstreamModel: x, aliases: [m]}"),
        "spec.aliases: Invalid value: an alias must not repeat the model's own name",
        id="model-alias-is-its-name",
    ),
    pytest.param(
        model("{providerRef: p, upstreamModel: x, aliases: [fast, fast]}"),
        'spec.aliases[1]: Duplicate value: "fast"',
        id="model-alias-twice",
    ),
]


@pytest.mark.parametrize(("manifest", "message"), REFUSED)
def test_the_api_server_refuses_what_the_compile_cannot_take(stack: Stack, manifest: str, message: str) -> None:
    result = stack.cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0, result.stdout
    invalid = POLICY_INVALID if "kind: RoutingPolicy" in manifest else MODEL_INVALID
    assert result.stderr.strip() == invalid + message


def test_zero_weights_are_accepted_while_one_term_is_positive(stack: Stack) -> None:
    accepted = policy("{weights: {normal: {cost: 0, latency: 0, failure: 0, weight: 0.000001}, cheap: {cost: 1}}}")
    stack.kubectl("apply", "--dry-run=server", "-f", "-", stdin=accepted)


def chat(stack: Stack, key: str, model_name: str) -> httpx.Response:
    return httpx.post(
        f"{stack.gateway_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model_name, "messages": [{"role": "user", "content": "hello"}]},
        timeout=10,
    )


def ready(stack: Stack, resource: str) -> tuple[str, str, str]:
    """The Ready condition's status, reason and message."""

    def field(name: str) -> str:
        path = f'{{.status.conditions[?(@.type=="Ready")].{name}}}'
        return stack.kubectl("get", "-n", NS, resource, "-o", f"jsonpath={path}")

    return field("status"), field("reason"), field("message")


def until_ready(stack: Stack, resource: str, status: str, reason: str | None = None) -> tuple[str, str, str]:
    wait_until(
        lambda: ready(stack, resource)[0] == status and reason in (None, ready(stack, resource)[1]),
        60,
        f"{resource} Ready={status} {reason or ''}",
        stack.operator.log,
    )
    return ready(stack, resource)


def test_an_alias_another_model_owns_is_reported_and_the_rest_is_served(stack: Stack) -> None:
    manifests = textwrap.dedent(
        f"""
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: mock, namespace: {NS}}}
        spec: {{type: openai-compatible, baseURL: "{stack.upstream_url}"}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Model
        metadata: {{name: first, namespace: {NS}}}
        spec: {{providerRef: mock, upstreamModel: mock-a, aliases: [fast]}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: ApiKey
        metadata: {{name: app, namespace: {NS}}}
        spec: {{scopes: [chat]}}
        """
    )
    stack.kubectl("apply", "-f", "-", stdin=manifests)
    until_ready(stack, "model/first", "True")
    stack.kubectl(
        "apply", "-f", "-", stdin=model("{providerRef: mock, upstreamModel: mock-b, aliases: [fast, quick]}", "second")
    )
    _, _, message = until_ready(stack, "model/second", "False", "AliasConflict")
    assert message == "spec.aliases[0]: alias 'fast' collides with an alias of Model 'first'"

    key = base64.b64decode(stack.kubectl("get", "-n", NS, "secret", "app-key", "-o", "jsonpath={.data.apiKey}"))
    wait_until(lambda: chat(stack, key.decode(), "quick").status_code == 200, 30, "the gateway", stack.gateway.log)
    assert chat(stack, key.decode(), "fast").headers["x-tokenhub-model"] == "first"
    assert chat(stack, key.decode(), "quick").headers["x-tokenhub-model"] == "second"


def test_a_secret_that_is_not_text_leaves_its_provider_not_ready_and_unsealed(stack: Stack) -> None:
    secret = base64.b64encode(b"\xff\xfesk-binary").decode()
    manifests = textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: binary-creds
          namespace: {NS}
          labels: {{tokenhub.io/provider-credential: "true"}}
        data: {{apiKey: "{secret}"}}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: binary, namespace: {NS}}}
        spec: {{type: openai, baseURL: "{stack.upstream_url}", apiKeySecretRef: {{name: binary-creds}}}}
        """
    )
    stack.kubectl("apply", "-f", "-", stdin=manifests)
    _, _, message = until_ready(stack, "provider/binary", "False", "CredentialInvalid")
    assert message == "Secret 'binary-creds' key 'apiKey' is not ASCII text (byte 0xff at offset 0)"
    assert stack.query("SELECT 1 FROM credentials WHERE namespace = %s AND name = 'binary'", NS) == []
    assert stack.query("SELECT 1 FROM config_objects WHERE namespace = %s AND name = 'binary'", NS) == [(1,)]
