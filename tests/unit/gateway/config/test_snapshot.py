"""Snapshot compilation: indices by client-visible name, routability, and tolerance of unreadable specs."""

from __future__ import annotations

from typing import Any

from gateway.config import documents, snapshot

Ref = documents.ObjectRef


def test_models_are_indexed_by_name_and_alias_and_need_credentials() -> None:
    objects: dict[Ref, dict[str, Any]] = {
        Ref("Provider", "default", "openai"): {
            "type": "openai",
            "baseURL": "https://api.openai.com/v1",
            "apiKeySecretRef": {"name": "c"},
        },
        Ref("Provider", "default", "local"): {"type": "openai-compatible", "baseURL": "http://127.0.0.1:1/v1"},
        Ref("Model", "default", "gpt"): {"providerRef": "openai", "upstreamModel": "gpt-4o", "aliases": ["smart"]},
        Ref("Model", "default", "llama"): {"providerRef": "local", "upstreamModel": "llama3"},
        Ref("Model", "default", "future"): {"providerRef": "local", "upstreamModel": "x", "newField": 1},
    }
    snap = snapshot.compile_snapshot(3, objects, {}, {})
    assert snap.revision == 3
    assert [m.ref.name for m in snap.model_names[("default", "smart")]] == ["gpt"]
    gpt = snap.models[Ref("Model", "default", "gpt")]
    assert not gpt.routable
    assert "credentials unresolved" in (gpt.provider.unavailable_reason or "")
    assert snap.routable_models == 1
    assert any("future" in p for p in snap.problems)

    with_key = snapshot.compile_snapshot(4, objects, {Ref("Provider", "default", "openai"): "sk-test"}, {})
    assert with_key.routable_models == 2
    assert "sk-test" not in repr(with_key.providers[Ref("Provider", "default", "openai")])
