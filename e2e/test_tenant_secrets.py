"""A tenant who may create TokenHub resources but not read Secrets cannot reach a Secret through the operator.

The tenant is the ``viewer`` user, bound to a Role that allows the four kinds and nothing on Secrets, as a
platform team would set up a team's namespace. Its two attacks, on the real API server with the operator running
under its shipped ClusterRole: an ApiKey whose ``secretName`` names a Secret it cannot read (overwrite it; delete
it with the ApiKey), and a Provider naming one (have the operator seal it and send it to the Provider's baseURL).
"""

from __future__ import annotations

import base64
import json
import pathlib
import shutil
import tempfile
import textwrap
from collections.abc import Iterator

import pytest

from e2e import stack as stack_mod
from e2e.controlplane.cluster import Cluster
from e2e.stack import Stack, wait_until

pytestmark = pytest.mark.e2e
NS = "tenant-secrets"
TENANT = "viewer"

TENANT_ROLE = textwrap.dedent(
    f"""
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {{name: tokenhub-tenant, namespace: {NS}}}
    rules:
      - apiGroups: [tokenhub.io]
        resources: [providers, models, routingpolicies, apikeys]
        verbs: [get, list, watch, create, update, patch, delete]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {{name: tokenhub-tenant, namespace: {NS}}}
    roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: tokenhub-tenant}}
    subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {TENANT}}}]
    """
)


@pytest.fixture(scope="module")
def stack(control_plane: Cluster) -> Iterator[Stack]:
    control_plane.kubectl("create", "namespace", NS, check=False)
    control_plane.kubectl("apply", "-f", "-", stdin=TENANT_ROLE)
    # Not under pytest's basetemp (mode 0700 when run as root): the embedded Postgres runs as its own user.
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="th-tenant-"))
    try:
        yield from stack_mod.start(control_plane, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def as_tenant(stack: Stack, manifest: str) -> None:
    stack.cluster.kubectl("apply", "-n", NS, "-f", "-", stdin=manifest, user=TENANT)


def secret(stack: Stack, name: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(stack.kubectl("get", "-n", NS, "secret", name, "-o", "json"))
    return found


def condition(stack: Stack, resource: str, kind: str) -> tuple[str, str, str]:
    found = json.loads(stack.kubectl("get", "-n", NS, resource, "-o", "json"))
    for cond in (found.get("status") or {}).get("conditions") or []:
        if cond["type"] == kind:
            return cond["status"], cond["reason"], cond["message"]
    return "", "", ""


def until(stack: Stack, resource: str, kind: str, status: str, reason: str) -> str:
    wait_until(
        lambda: condition(stack, resource, kind)[:2] == (status, reason),
        60,
        f"{resource} {kind}={status} ({reason})",
        lambda: f"{condition(stack, resource, kind)}\n{stack.operator.log()[-3000:]}",
    )
    return condition(stack, resource, kind)[2]


def test_the_tenant_cannot_read_secrets_itself(stack: Stack) -> None:
    can = stack.cluster.kubectl("auth", "can-i", "get", "secrets", "-n", NS, user=TENANT, check=False)
    assert can.stdout.strip() == "no"
    can = stack.cluster.kubectl("auth", "can-i", "create", "apikeys.tokenhub.io", "-n", NS, user=TENANT, check=False)
    assert can.stdout.strip() == "yes"


def test_an_apikey_naming_an_unrelated_secret_leaves_it_untouched_even_when_deleted(stack: Stack) -> None:
    stack.kubectl(
        "create", "secret", "generic", "db-credentials", "-n", NS, "--from-literal=password=hunter2-production"
    )
    before = secret(stack, "db-credentials")
    as_tenant(
        stack,
        textwrap.dedent(
            """
            apiVersion: tokenhub.io/v1alpha1
            kind: ApiKey
            metadata: {name: thief}
            spec: {scopes: [chat], secretName: db-credentials}
            """
        ),
    )
    message = until(stack, "apikey/thief", "Issued", "False", "SecretConflict")
    assert message.startswith("Secret 'db-credentials' exists and is not managed by TokenHub for ApiKey 'thief'")
    assert condition(stack, "apikey/thief", "Ready")[:2] == ("False", "SecretConflict")
    assert secret(stack, "db-credentials") == before
    assert stack.query("SELECT 1 FROM api_keys WHERE namespace = %s AND name = 'thief'", NS) == []

    stack.cluster.kubectl("delete", "-n", NS, "apikey", "thief", "--timeout=60s", user=TENANT)
    assert secret(stack, "db-credentials") == before
    data = secret(stack, "db-credentials")["data"]
    assert isinstance(data, dict)
    assert base64.b64decode(data["password"]) == b"hunter2-production"


def test_the_operator_still_issues_and_deletes_its_own_key_secret(stack: Stack) -> None:
    as_tenant(
        stack, "apiVersion: tokenhub.io/v1alpha1\nkind: ApiKey\nmetadata: {name: honest}\nspec: {scopes: [chat]}\n"
    )
    until(stack, "apikey/honest", "Issued", "True", "Issued")
    issued = secret(stack, "honest-key")["metadata"]
    assert isinstance(issued, dict)
    assert issued["labels"] == {"app.kubernetes.io/managed-by": "tokenhub-operator"}
    uid = stack.kubectl("get", "-n", NS, "apikey", "honest", "-o", "jsonpath={.metadata.uid}")
    assert [ref["uid"] for ref in issued["ownerReferences"]] == [uid]
    stack.cluster.kubectl("delete", "-n", NS, "apikey", "honest", "--timeout=60s", user=TENANT)
    gone = stack.cluster.kubectl("get", "-n", NS, "secret", "honest-key", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def provider(stack: Stack, name: str, secret_name: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: tokenhub.io/v1alpha1
        kind: Provider
        metadata: {{name: {name}}}
        spec: {{type: openai, baseURL: "{stack.upstream_url}", apiKeySecretRef: {{name: {secret_name}}}}}
        """
    )


def sealed(stack: Stack, name: str) -> bool:
    return bool(stack.query("SELECT 1 FROM credentials WHERE namespace = %s AND name = %s", NS, name))


def test_a_provider_naming_an_unlabelled_secret_gets_nothing_sealed_until_it_opts_in(stack: Stack) -> None:
    stack.kubectl("create", "secret", "generic", "payments-token", "-n", NS, "--from-literal=apiKey=sk-payments-0123")
    as_tenant(stack, provider(stack, "exfil", "payments-token"))
    message = until(stack, "provider/exfil", "CredentialsResolved", "False", "SecretNotOptedIn")
    assert message.startswith("Secret 'payments-token' has not opted in as a provider credential")
    assert not sealed(stack, "exfil")

    # The owner of the Secret opts in.
    stack.kubectl("label", "-n", NS, "secret", "payments-token", "tokenhub.io/provider-credential=true")
    until(stack, "provider/exfil", "CredentialsResolved", "True", "Resolved")
    assert sealed(stack, "exfil")

    # ... and opts out again: the sealed copy is dropped. The Provider was Ready (no retry pending, its resync
    # minutes away), so the change arrives through the operator's label-selected Secret watch.
    stack.kubectl("label", "-n", NS, "secret", "payments-token", "tokenhub.io/provider-credential-")
    until(stack, "provider/exfil", "CredentialsResolved", "False", "SecretNotOptedIn")
    assert not sealed(stack, "exfil")


def test_an_annotation_allows_only_the_providers_it_names(stack: Stack) -> None:
    stack.kubectl("create", "secret", "generic", "team-openai", "-n", NS, "--from-literal=apiKey=sk-team-0123")
    stack.kubectl("annotate", "-n", NS, "secret", "team-openai", "tokenhub.io/allowed-providers=openai-main")
    as_tenant(stack, provider(stack, "other", "team-openai"))
    as_tenant(stack, provider(stack, "openai-main", "team-openai"))
    until(stack, "provider/openai-main", "CredentialsResolved", "True", "Resolved")
    message = until(stack, "provider/other", "CredentialsResolved", "False", "SecretNotOptedIn")
    assert "allows only openai-main" in message
    assert sealed(stack, "openai-main") and not sealed(stack, "other")
