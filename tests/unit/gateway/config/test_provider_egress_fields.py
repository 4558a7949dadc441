"""Provider fields for egress: the CA bundle compiles into the provider (or makes it unroutable, saying why), a URL
the egress policy refuses outright leaves the Provider out, and a credential never goes over plain http:// to
another machine unless the Provider says ``allowInsecure``."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
import trustme

from gateway.config import ca_bundles, documents, egress, snapshot, specs

Ref = documents.ObjectRef
PRIVATE = Ref("Provider", "team", "private")
MODEL = Ref("Model", "team", "m")
SPEC: dict[str, Any] = {
    "type": "openai-compatible",
    "baseURL": "https://llm.team.svc.cluster.local/v1",
    "caBundleSecretRef": {"name": "private-ca", "key": "ca.crt"},
}
OBJECTS = {PRIVATE: SPEC, MODEL: {"providerRef": "private", "upstreamModel": "m"}}
PEM = trustme.CA().cert_pem.bytes()


def compile_with(bundle: bytes | None) -> snapshot.ConfigSnapshot:
    credentials = {ca_bundles.ref_of(PRIVATE): bundle} if bundle is not None else {}
    return snapshot.compile_snapshot(1, OBJECTS, credentials, {})


def test_a_valid_bundle_is_compiled_into_the_provider() -> None:
    snap = compile_with(PEM)
    entry = snap.providers[PRIVATE]
    assert entry.routable and entry.ca_bundle == PEM.decode()
    assert "BEGIN CERTIFICATE" not in repr(entry)
    assert snap.problems == ()


def test_an_unresolved_bundle_makes_the_provider_unroutable_rather_than_trusting_the_system() -> None:
    entry = compile_with(None).providers[PRIVATE]
    assert not entry.routable and "CA bundle unresolved" in (entry.unavailable_reason or "")


@pytest.mark.parametrize(
    ("bundle", "words"),
    [
        (b"not a certificate", "no PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n", "not a valid PEM"),
        (b"\xff\xfe-----BEGIN CERTIFICATE-----", "not PEM text"),
    ],
)
def test_an_invalid_bundle_is_a_config_problem_of_that_provider_only(bundle: bytes, words: str) -> None:
    snap = compile_with(bundle)
    entry = snap.providers[PRIVATE]
    assert not entry.routable and words in (entry.unavailable_reason or "")
    (problem,) = snap.problems_of(PRIVATE)
    assert problem.reason == "CABundleInvalid" and problem.path == "spec.caBundleSecretRef" and words in problem.message
    assert ca_bundles.invalid_reason(bundle) is not None and ca_bundles.invalid_reason(PEM) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/v1", "link-local"),
        ("http://[fd00:ec2::254]/v1", "metadata"),
        ("http://127.0.0.1:8080/v1", "loopback"),
        ("http://localhost:8080/v1", "loopback"),
        ("http://10.0.0.8/v1", "private"),
    ],
)
def test_a_url_the_policy_refuses_outright_leaves_the_provider_out(url: str, reason: str) -> None:
    objects = {PRIVATE: {"type": "vllm", "endpoints": ["https://ok.example/v1", url]}, MODEL: OBJECTS[MODEL]}
    snap = snapshot.compile_snapshot(1, objects, {}, {}, egress_policy=egress.Policy.parse(None, None))
    assert PRIVATE not in snap.providers and MODEL not in snap.models
    found = {p.reason: p.message for p in snap.problems_of(PRIVATE)}
    assert reason in found["EgressDenied"]
    widened = egress.Policy.parse("127.0.0.0/8,10.0.0.0/8,169.254.169.254/32,fd00:ec2::254/128", None)
    assert PRIVATE in snapshot.compile_snapshot(1, objects, {}, {}, egress_policy=widened).providers
    assert "EgressDenied" in {p.reason for p in snapshot.problems_for(PRIVATE, objects[PRIVATE], {}, egress.Policy())}


@pytest.mark.parametrize(
    ("url", "allow_insecure", "ok"),
    [
        ("http://api.example.com/v1", False, False),
        ("http://api.example.com/v1", True, True),
        ("https://api.example.com/v1", False, True),
        ("http://127.0.0.1:8000/v1", False, True),  # plaintext that never leaves the machine
        ("http://[::1]:8000/v1", False, True),
        ("http://localhost:8000/v1", False, True),
    ],
)
def test_a_credential_goes_over_plain_http_only_to_loopback_or_when_allowed(
    url: str, allow_insecure: bool, ok: bool
) -> None:
    raw = {"type": "openai", "baseURL": url, "apiKeySecretRef": {"name": "c"}, "allowInsecure": allow_insecure}
    if ok:
        specs.ProviderSpec.model_validate(raw)
    else:
        with pytest.raises(pydantic.ValidationError, match="allowInsecure"):
            specs.ProviderSpec.model_validate(raw)
    specs.ProviderSpec.model_validate({"type": "vllm", "endpoints": [url]})  # no credential: nothing to leak
