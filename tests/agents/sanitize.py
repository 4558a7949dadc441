"""Turns a recorded request into a fixture: every field and structure kept, vendor prose replaced.

System prompts, reminders, environment blocks, tool descriptions and grammars are the vendors' text, not ours to
commit: each becomes a placeholder string saying how long it was. What the tests wrote (prompts, replies, tool
output) and what is structural (ids, schemas, enums, metadata, the billing header) stays as recorded, with the
values that change between recordings (ports, temp paths) normalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PROSE_KEYS = frozenset({"text", "description", "content", "instructions", "definition"})
# Structural strings that sit where prose does: Claude Code's first system block carries its billing header.
KEEP_PREFIXES = ("x-anthropic-billing-header:",)


def placeholder(text: str) -> str:
    return f"<vendor text, {len(text)} chars>"


_PLACEHOLDER = re.compile(r"<vendor text, \d+ chars>")


def _is_ours(text: str, ours: Iterable[str]) -> bool:
    """Text the test wrote, a structural string, or a placeholder already (so scrubbing twice changes nothing)."""
    return text.startswith(KEEP_PREFIXES) or any(own in text for own in ours) or bool(_PLACEHOLDER.fullmatch(text))


def scrub(value: Any, ours: tuple[str, ...], key: str | None = None) -> Any:
    """Replaces prose strings under PROSE_KEYS unless they hold text the test wrote; recurses everywhere."""
    if isinstance(value, Mapping):
        return {k: scrub(v, ours, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, ours, key) for item in value]
    if isinstance(value, str) and key in PROSE_KEYS and not _is_ours(value, ours):
        return placeholder(value)
    return value


_LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+")


def normalise(value: Any, replacements: Mapping[str, str]) -> Any:
    """Replaces run-specific substrings (the capture server's port, the temp root) in every string."""
    if isinstance(value, Mapping):
        return {k: normalise(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(item, replacements) for item in value]
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return _LOOPBACK_PORT.sub("127.0.0.1:<port>", value)
    return value


def fixture(request: Mapping[str, Any], ours: tuple[str, ...], replacements: Mapping[str, str]) -> dict[str, Any]:
    headers = dict(request["headers"])
    headers.pop("content-length", None)  # the placeholders change it
    scrubbed = {**request, "headers": headers, "json": scrub(request.get("json"), ours)}
    result: dict[str, Any] = normalise(scrubbed, replacements)
    return result
