"""Loading manifests: valid folders load, and every problem of a broken one is reported with its location."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from gateway.config import documents, manifests, specs

EXAMPLES = pathlib.Path(__file__).parents[4] / "examples"


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: pathlib.Path) -> list[str]:
    with pytest.raises(documents.ConfigError) as info:
        manifests.load(path)
    return [str(p) for p in info.value.problems]


PROVIDER = """
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {name: openai}
spec: {type: openai, baseURL: "https://api.openai.com/v1", apiKeySecretRef: {name: creds}}
"""


def test_examples_folder_is_valid() -> None:
    docs = manifests.load(EXAMPLES)
    kinds = {d.ref.kind for d in docs}
    assert kinds == {"Provider", "Model", "RoutingPolicy", "ApiKey"}


def test_defaults_are_filled_and_namespace_defaults_to_default(tmp_path: pathlib.Path) -> None:
    (doc,) = manifests.load(write(tmp_path, "p.yaml", PROVIDER))
    assert doc.ref == documents.ObjectRef("Provider", "default", "openai")
    assert isinstance(doc.spec, specs.ProviderSpec)
    assert doc.spec.timeout_seconds == 60.0
    assert doc.spec_json()["apiKeySecretRef"] == {"name": "creds", "key": "apiKey"}


def test_every_problem_is_listed_with_file_document_object_and_field(tmp_path: pathlib.Path) -> None:
    write(
        tmp_path,
        "bad.yaml",
        """
        apiVersion: tokenhub.io/v2
        kind: Provider
        metadata: {name: p1}
        spec: {type: openai, baseURL: "https://x"}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Modell
        metadata: {name: m}
        spec: {}
        ---
        apiVersion: tokenhub.io/v1alpha1
        kind: Model
        metadata: {name: m2}
        spec: {providerRef: p1, upstreamModel: x, weight: "heavy", pricing: {inputPer1K: -1}, colour: red}
        """,
    )
    found = problems_of(tmp_path)
    text = "\n".join(found)
    assert "bad.yaml (document 1) Provider/p1: apiVersion: must be 'tokenhub.io/v1alpha1'" in text
    assert "bad.yaml (document 1) Provider/p1: spec.apiKeySecretRef" not in text  # spec problems are separate
    assert "bad.yaml (document 2) Modell/m: kind: unknown kind 'Modell'" in text
    assert "(document 3) Model/m2: spec.weight:" in text
    assert "(document 3) Model/m2: spec.pricing.inputPer1K: Input should be greater than or equal to 0" in text
    assert "(document 3) Model/m2: spec.colour: Extra inputs are not permitted" in text


def test_malformed_yaml_names_the_line(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "broken.yaml", "kind: Provider\nmetadata: [\n")
    (problem,) = problems_of(tmp_path)
    assert "broken.yaml:3:1: malformed YAML" in problem


def test_cross_document_problems(tmp_path: pathlib.Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        PROVIDER
        + """
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: m1}
spec: {providerRef: missing, upstreamModel: x, aliases: [fast]}
---
apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {name: m2}
spec: {providerRef: openai, upstreamModel: y, aliases: [fast, m1]}
---
apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {name: openai}
spec: {type: vllm, endpoints: ["http://127.0.0.1:8000/v1"]}
---
apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: k}
spec: {routingPolicyRef: nope}
""",
    )
    text = "\n".join(problems_of(tmp_path))
    assert "Model/m1: spec.providerRef: Provider 'missing' does not exist in namespace 'default'" in text
    assert "Model/m2: spec.aliases[0]: alias 'fast' collides with an alias of Model 'm1'" in text
    assert "Model/m2: spec.aliases[1]: alias 'm1' collides with Model 'm1'" in text
    assert "Provider/openai: metadata.name: duplicate Provider 'openai'" in text
    assert "ApiKey/k: spec.routingPolicyRef: RoutingPolicy 'nope' does not exist" in text


def test_objects_of_other_api_groups_are_skipped(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "mixed.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n---\n" + PROVIDER)
    assert [d.ref.name for d in manifests.load(tmp_path)] == ["openai"]


def test_a_missing_path_is_a_problem_not_a_crash(tmp_path: pathlib.Path) -> None:
    assert "does not exist" in problems_of(tmp_path / "nowhere")[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "openai", "baseURL": "ftp://host"}, "must be an http:// or https:// URL"),
        ({"type": "openai", "baseURL": "https://user:pw@host/v1", "apiKeySecretRef": {"name": "c"}}, "credentials"),
        ({"type": "openai", "baseURL": "https://host/v1?x=1", "apiKeySecretRef": {"name": "c"}}, "query"),
        ({"type": "openai", "baseURL": "https://host/v1"}, "apiKeySecretRef is required"),
        ({"type": "vllm"}, "exactly one of baseURL or endpoints"),
        ({"type": "openai-compatible", "endpoints": ["http://a/v1"]}, "endpoints is only for type vllm"),
        (
            {"type": "anthropic", "baseURL": "https://a/v1", "apiKeySecretRef": {"name": "c"}, "responsesAPI": True},
            "responsesAPI is for OpenAI-shaped providers",
        ),
    ],
)
def test_provider_urls_and_shape_are_validated(tmp_path: pathlib.Path, spec: dict[str, object], message: str) -> None:
    import yaml

    doc = {"apiVersion": "tokenhub.io/v1alpha1", "kind": "Provider", "metadata": {"name": "p"}, "spec": spec}
    write(tmp_path, "p.yaml", yaml.safe_dump(doc))
    assert any(message in p for p in problems_of(tmp_path))


@pytest.mark.parametrize(
    ("spec", "speaks"),
    [
        ({"type": "openai", "baseURL": "https://h/v1", "apiKeySecretRef": {"name": "c"}}, True),
        ({"type": "openai", "baseURL": "https://h/v1", "apiKeySecretRef": {"name": "c"}, "responsesAPI": False}, False),
        ({"type": "openai-compatible", "baseURL": "https://h/v1"}, False),
        ({"type": "vllm", "endpoints": ["http://a/v1"], "responsesAPI": True}, True),
        ({"type": "anthropic", "baseURL": "https://h/v1", "apiKeySecretRef": {"name": "c"}}, False),
    ],
)
def test_only_openai_providers_speak_the_responses_api_unless_told(spec: dict[str, object], speaks: bool) -> None:
    assert specs.ProviderSpec.model_validate(spec).speaks_responses is speaks
