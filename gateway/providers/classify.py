"""Turn one failed upstream response (status, headers, body) into the right `errors` class; pure.

Status wins over body text (429 is rate limiting whatever the body says), except that a 4xx body naming the
context window turns into `ContextOverflow`: providers report it as a plain 400 (OpenAI code
`context_length_exceeded`, Anthropic "prompt is too long", vLLM "maximum context length"). A 2xx reaches here
only when its body was unusable: `MalformedResponse`. The upstream's words in the message are made safe to echo
(`wire.safe_text`): no control characters, valid UTF-8, at most a few hundred characters; a body that is not JSON
(a proxy's or web server's page) is read to classify but never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import orjson

from gateway.providers import errors, retry_hints
from gateway.providers.wire import safe_text

_OVERFLOW_NEEDLES = (
    "context_length_exceeded",
    "prompt is too long",
    "prompt_too_long",
    "context length",
    "context window",
    "exceed context limit",
    "exceeds the available context size",
    "exceed_context_size",
)
_DETAIL_LIMIT = 300
_ANTHROPIC_OVERLOADED = 529


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def error_fields(body: bytes) -> tuple[str, str]:
    """(message, code and type) from any common error body shape; raw text when it is not JSON."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return safe_text.from_bytes(body, _DETAIL_LIMIT).strip(), ""
    if not isinstance(doc, dict):
        return "", ""
    err = doc.get("error", doc)
    if isinstance(err, str):
        return err, ""
    if not isinstance(err, dict):
        return "", ""
    message = _as_text(err.get("message")) or _as_text(err.get("detail")) or _as_text(doc.get("detail"))
    kinds = " ".join(text for text in (_as_text(err.get("code")), _as_text(err.get("type"))) if text)
    return message, kinds


def says_context_overflow(message: str, kinds: str) -> bool:
    haystack = f"{message} {kinds}".lower()
    return any(needle in haystack for needle in _OVERFLOW_NEEDLES)


def _kind(provider_type: str, status: int, message: str, kinds: str) -> type[errors.UpstreamError]:
    if 200 <= status < 300:
        return errors.MalformedResponse
    if status == 429 or (status == _ANTHROPIC_OVERLOADED and provider_type == "anthropic"):
        return errors.RateLimited
    if status == 408 or 500 <= status < 600:
        return errors.Transient
    if status == 413:
        return errors.ContextOverflow
    if status in (401, 403):
        return errors.AuthFailed
    if 400 <= status < 500:
        return errors.ContextOverflow if says_context_overflow(message, kinds) else errors.BadRequest
    return errors.Fatal


def classify(
    provider: str,
    provider_type: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
) -> errors.UpstreamError:
    """The exception describing this failed response; `now` (aware) resolves HTTP-date hints."""
    message, kinds = error_fields(body)
    kind = _kind(provider_type, status, message, kinds)
    if 200 <= status < 300:
        detail = "the success body is not JSON"
    elif body.strip() and body.lstrip()[:1] not in (b"{", b"["):
        # A proxy's or web server's page, not the provider's error message: it may name internal hosts, so it is
        # read to classify the failure but never shown.
        detail = f"the error body is not JSON ({len(body)} bytes, not shown)"
    else:
        detail = safe_text.text(" ".join(message.split()), _DETAIL_LIMIT) or "no error message"
    wait = retry_hints.retry_after(headers, now=now, use_reset_hints=kind is errors.RateLimited)
    return kind(
        provider,
        f"{provider}: upstream returned HTTP {status}: {detail}",
        status=status,
        retry_after=wait,
        body=body,
    )
