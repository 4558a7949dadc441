"""TokenHub's native chat request: an OpenAI-shaped request plus routing hints and in-band directives.

    {"request": {"messages": [...], "model_hint"?, "parameters"?: {...}, "stream"?},
     "policy"?: {"mode", "max_budget_usd", "max_latency_ms", "min_weight"}}

``@@tokenhub`` directives in system and user turns override the policy field by field (the last one wins), and
are stripped before anything goes upstream. The assembled request then meets the OpenAI rules, as if sent to
``/v1/chat/completions``. Every bad value is a 400 naming the field or the directive. The routing engine takes
the stricter of the RoutingPolicy's limits and these hints: a hint can narrow what the operator allows, never
widen it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from gateway.providers.wire import errors as wire_errors
from gateway.providers.wire import openai_chat
from gateway.routing import directives, modes
from gateway.routing import errors as routing_errors
from gateway.serving import errors

RESERVED_PARAMETERS = frozenset({"model", "messages", "stream"})
POLICY_FIELDS = frozenset({"mode", "max_budget_usd", "max_latency_ms", "min_weight"})


@dataclasses.dataclass(frozen=True, slots=True)
class Hints:
    mode: modes.Mode | None = None
    max_budget_usd: float | None = None
    max_latency_ms: int | None = None
    min_weight: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NativeRequest:
    body: dict[str, Any]  # an OpenAI chat-completions body, directives stripped
    hints: Hints


def _number(policy: dict[str, Any], name: str, low: float, high: float, *, integer: bool = False) -> Any:
    value = policy.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise errors.InvalidRequest(f"policy.{name} must be a number", param=f"policy.{name}")
    if integer and value != int(value):
        raise errors.InvalidRequest(f"policy.{name} must be an integer", param=f"policy.{name}")
    if not low <= value <= high:
        raise errors.InvalidRequest(f"policy.{name} must be within [{low:g}, {high:g}]", param=f"policy.{name}")
    return int(value) if integer else float(value)


def _hints(policy: object) -> Hints:
    if policy is None:
        return Hints()
    if not isinstance(policy, dict):
        raise errors.InvalidRequest("policy must be an object", param="policy")
    unknown = set(policy) - POLICY_FIELDS
    if unknown:
        raise errors.InvalidRequest(f"policy has unknown fields: {', '.join(sorted(unknown))}", param="policy")
    mode = policy.get("mode")
    if mode is not None:
        try:
            mode = modes.Mode(mode)
        except ValueError:
            allowed = ", ".join(m.value for m in modes.Mode)
            raise errors.InvalidRequest(f"policy.mode must be one of {allowed}", param="policy.mode") from None
    return Hints(
        mode=mode,
        max_budget_usd=_number(policy, "max_budget_usd", 0, 100),
        max_latency_ms=_number(policy, "max_latency_ms", 1, 3_600_000, integer=True),
        min_weight=_number(policy, "min_weight", 0, 10, integer=True),
    )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _where(param: str) -> str:
    """Where a field of the assembled OpenAI body came from in the native request."""
    if param == "model":
        return "request.model_hint"
    if param.startswith("messages"):
        return f"request.{param}"
    return f"request.parameters.{param}"


def _validated(body: dict[str, Any]) -> dict[str, Any]:
    try:
        openai_chat.validate_request(body)
    except wire_errors.WireError as exc:
        where = _where(exc.param)
        raise errors.InvalidRequest(f"{where}: {exc.message}", param=where) from exc
    return body


def parse(payload: object) -> NativeRequest:
    if not isinstance(payload, dict):
        raise errors.InvalidRequest("the body must be a JSON object")
    request = payload.get("request")
    if not isinstance(request, dict):
        raise errors.InvalidRequest("request is required and must be an object", param="request")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise errors.InvalidRequest("request.messages must be a non-empty array of objects", param="request.messages")
    hints = _hints(payload.get("policy"))
    try:
        parsed = directives.parse([(str(m.get("role", "")), _text(m.get("content"))) for m in messages])
    except routing_errors.DirectiveError as exc:
        raise errors.InvalidRequest(str(exc), param=f"@@tokenhub {exc.directive}") from exc
    found = parsed.directives
    stripped = [
        {**message, "content": parsed.texts[n]} if n in parsed.sources else message
        for n, message in enumerate(messages)
    ]
    parameters = request.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise errors.InvalidRequest("request.parameters must be an object", param="request.parameters")
    hint = request.get("model_hint")
    if hint is not None and not isinstance(hint, str):
        raise errors.InvalidRequest("request.model_hint must be a string", param="request.model_hint")
    stream = request.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise errors.InvalidRequest("request.stream must be a boolean", param="request.stream")
    body: dict[str, Any] = {k: v for k, v in parameters.items() if k not in RESERVED_PARAMETERS}
    body["messages"] = stripped
    body["model"] = found.model or hint or "auto"
    if stream:
        body["stream"] = True
    merged = Hints(
        mode=found.mode or hints.mode,
        max_budget_usd=found.max_budget_usd if found.max_budget_usd is not None else hints.max_budget_usd,
        max_latency_ms=found.max_latency_ms if found.max_latency_ms is not None else hints.max_latency_ms,
        min_weight=found.min_weight if found.min_weight is not None else hints.min_weight,
    )
    return NativeRequest(_validated(body), merged)
