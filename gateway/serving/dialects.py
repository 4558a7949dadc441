"""Pure conversions between the client's API and the provider's: request bodies out, responses back.

Four routes, two of them identity: a body whose client and provider speak the same API goes up as the client
sent it (model name swapped, usage forced on for OpenAI streams) and comes back byte for byte, so nothing a
provider adds is lost; across APIs the ``providers.wire`` translators do the work.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any

import orjson

from gateway import tokens
from gateway.providers import errors as upstream_errors
from gateway.providers.wire import (
    anthropic_messages,
    anthropic_to_openai,
    openai_chat,
    openai_to_anthropic,
    usage,
)
from gateway.providers.wire import errors as wire_errors


class ClientApi(enum.StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@dataclasses.dataclass(frozen=True, slots=True)
class Outbound:
    path: str
    body: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Inbound:
    body: bytes
    usage: usage.Usage


def outbound(api: ClientApi, body: dict[str, Any], provider_dialect: str, upstream_model: str) -> Outbound:
    """The upstream request; raises ``wire.Untranslatable`` when the provider's API cannot express it."""
    if provider_dialect == "anthropic":
        if api is ClientApi.ANTHROPIC:
            return Outbound("/messages", anthropic_messages.prepare_upstream(body, upstream_model))
        return Outbound("/messages", orjson.dumps(openai_to_anthropic.request(body, model=upstream_model)))
    canonical = body if api is ClientApi.OPENAI else anthropic_to_openai.request(body)
    return Outbound("/chat/completions", openai_chat.prepare_upstream(canonical, upstream_model))


def _estimate(input_estimate: int, produced: bytes) -> usage.Usage:
    """Counts for an upstream that reported none: the gateway's estimate (the whole body as text), flagged."""
    output = tokens.estimate_text(produced.decode("utf-8", "replace"))
    return usage.Usage(input_tokens=input_estimate, output_tokens=output, estimated=True)


def inbound(
    api: ClientApi,
    request: dict[str, Any],
    provider_dialect: str,
    raw: bytes,
    *,
    provider: str,
    input_estimate: int,
) -> Inbound:
    """The client's response body and the usage to charge; raises ``MalformedResponse`` for an unusable body.

    ``input_estimate`` (the routing's count of the prompt) stands in when the upstream reports no usage.
    """
    try:
        parsed = orjson.loads(raw)
        if not isinstance(parsed, dict):
            raise TypeError("not an object")
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise upstream_errors.MalformedResponse(
            provider, f"{provider}: the success body is not a JSON object", status=200
        ) from exc
    try:
        translated, counted = _translated(api, request, provider_dialect, raw, parsed)
    except wire_errors.MalformedUpstream as exc:
        raise upstream_errors.MalformedResponse(provider, f"{provider}: {exc.message}", status=200) from exc
    return Inbound(translated, counted or _estimate(input_estimate, translated))


def _translated(
    api: ClientApi, request: dict[str, Any], provider_dialect: str, raw: bytes, parsed: dict[str, Any]
) -> tuple[bytes, usage.Usage | None]:
    if provider_dialect == "anthropic":
        counted = usage.from_anthropic(parsed)
        if api is ClientApi.ANTHROPIC:
            body = raw
        else:
            body = orjson.dumps(anthropic_to_openai.response(parsed, created=int(time.time()), model=request["model"]))
    else:
        counted = usage.from_openai(parsed)
        body = (
            raw
            if api is ClientApi.OPENAI
            else orjson.dumps(openai_to_anthropic.response(parsed, model=request["model"]))
        )
    return body, counted
