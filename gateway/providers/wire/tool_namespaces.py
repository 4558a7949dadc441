"""Responses ``namespace`` tools for APIs that know only a flat list of tools (Chat Completions, Anthropic).

A namespace groups tools under one name (Codex sends its sub-agent functions as ``multi_agent_v1``); the model
calls one as ``name`` with the call's ``namespace`` set. Chat and Anthropic have no groups, so each tool of a
namespace goes up as ``<namespace>__<name>``, a call sent back in a conversation is renamed the same way, and a
call the model makes to such a name comes back split, as OpenAI returns it. Both directions read the same
validated request, so the mapping needs no state. A joined name beyond 64 characters is refused.
"""

from __future__ import annotations

from typing import Any

from gateway.providers.wire.errors import Untranslatable

SEPARATOR = "__"
MAX_NAME = 64


def flat_name(namespace: str, name: str) -> str:
    return f"{namespace}{SEPARATOR}{name}"


def flat_tools(tools: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(param, tool)`` for every tool, the tools of each namespace in its place under their joined names."""
    flat: list[tuple[str, dict[str, Any]]] = []
    for j, tool in enumerate(tools):
        if tool["type"] != "namespace":
            flat.append((f"tools[{j}]", tool))
            continue
        for k, inner in enumerate(tool["tools"]):
            name = flat_name(tool["name"], inner["name"])
            if len(name) > MAX_NAME:
                raise Untranslatable(
                    f"tools[{j}].tools[{k}].name",
                    f"{name!r}, the namespace and tool name joined for an API without namespaces, passes 64 characters",
                )
            description = " ".join(d for d in (tool.get("description"), inner.get("description")) if d)
            flat.append((f"tools[{j}].tools[{k}]", {**inner, "name": name, "description": description or None}))
    return flat


def call_name(item: dict[str, Any]) -> str:
    """The flat name of a call item sent back in a conversation (``namespace`` joined in when it has one)."""
    namespace = item.get("namespace")
    return flat_name(namespace, item["name"]) if isinstance(namespace, str) and namespace else str(item["name"])


def names(request: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Flat name -> (namespace, name) for the namespaced tools of a validated request."""
    found: dict[str, tuple[str, str]] = {}
    for tool in request.get("tools") or ():
        if tool.get("type") == "namespace":
            for inner in tool.get("tools") or ():
                found[flat_name(tool["name"], inner["name"])] = (tool["name"], inner["name"])
    return found


def custom_names(request: dict[str, Any]) -> frozenset[str]:
    """The flat names of the request's custom (free-form input) tools, namespaced ones included."""
    found: set[str] = set()
    for tool in request.get("tools") or ():
        if tool.get("type") == "custom":
            found.add(tool["name"])
        elif tool.get("type") == "namespace":
            found.update(flat_name(tool["name"], t["name"]) for t in tool.get("tools") or () if t["type"] == "custom")
    return frozenset(found)
