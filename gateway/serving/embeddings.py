"""Embeddings: OpenAI-format requests to OpenAI-compatible and vLLM providers, metered like chat.

The body goes upstream as sent, with the model name swapped; the response comes back unchanged. Usage is the
upstream's ``prompt_tokens``, charged at the model's input price - attributed to the key and counted against
its budget like any other request (the older system let embeddings bypass both).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.config import specs
from gateway.providers import base
from gateway.providers import errors as upstream_errors
from gateway.providers.wire import errors as wire_errors
from gateway.providers.wire import usage
from gateway.serving import admission, attempt_charges, calls, chat, errors, traced, upstreams


def validate(body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise errors.InvalidRequest("model is required", param="model")
    value = body.get("input")
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value:
        raise errors.InvalidRequest("input must be a string or a non-empty array", param="input")


def _all_failed(
    requested: str, last: upstream_errors.UpstreamError | None, cooling: list[float]
) -> errors.RequestFailed:
    """The error when no candidate answered: rate limiting stays a 429 (with a wait) so clients back off."""
    if isinstance(last, upstream_errors.RateLimited) or (last is None and cooling):
        wait = min(cooling) if cooling else (last.retry_after if last is not None else None)
        return errors.RateLimited(f"the providers for {requested!r} are rate limiting", retry_after=wait)
    if last is None:
        return errors.NoCapacity(f"no provider for {requested!r} can serve embeddings right now")
    return errors.UpstreamFailed(
        f"every provider for {requested!r} failed; last: {last.provider}: {last.message}",
        error_class=last.error_class,
    )


def _counted(input_estimate: int, raw: bytes, provider: str) -> usage.Usage:
    """The input tokens to charge: the upstream's ``prompt_tokens``, else routing's count; raises if unusable."""
    parsed = orjson.loads(raw)  # the adapter checked that it parses
    counts = parsed.get("usage") if isinstance(parsed, dict) else None
    if not isinstance(counts, dict) or counts.get("prompt_tokens") is None:
        return usage.Usage(input_estimate, 0, estimated=True)
    try:
        reported = usage.from_openai(parsed)
    except wire_errors.MalformedUpstream as exc:
        raise upstream_errors.MalformedResponse(provider, f"{provider}: {exc.message}", status=200) from exc
    assert reported is not None  # it has a usage object
    return usage.Usage(reported.total_input_tokens, 0)


EMBEDDINGS = frozenset({specs.Capability.EMBEDDINGS.value})


class EmbeddingsFlow:
    def __init__(self, services: calls.Services) -> None:
        self._services = services

    async def create(self, call: calls.Call) -> chat.Completion:
        assert call.key is not None and call.body is not None
        call.key.require(specs.Scope.EMBEDDINGS)
        snap = self._services.snapshot()
        pool = self._services.upstreams
        routing = self._services.routing
        decided = routing.decide(call.key, call.body, call.request_id, capabilities=EMBEDDINGS)
        call.route, call.decision = decided, decided.reason
        candidates = routing.model_entries(snap, call.key.namespace, decided)
        call.reservation = await admission.admit(self._services.leases, call.key, call.body, candidates)
        last: upstream_errors.UpstreamError | None = None
        cooling: list[float] = []
        for position, model in enumerate(candidates):
            if not await chat.covers_failed_attempts(self._services, call, candidates[position:]):
                call.attempt(model, "skipped_budget")
                break
            if upstreams.dialect(model.provider.spec.type) != "openai":
                call.attempt(model, "skipped_unsupported")
                continue
            remaining = routing.cooldown_remaining(model.provider.ref)
            if remaining > 0:
                cooling.append(remaining)
                call.attempt(model, "skipped_cooldown")
                continue
            adapter = pool.get(model.provider.ref)
            if adapter is None:
                call.attempt(model, "skipped_unavailable")
                continue
            if call.trace is not None:
                adapter = traced.Adapter(adapter, call.trace, model, "embeddings")
            body = orjson.dumps({**call.body, "model": model.spec.upstream_model})
            sent = time.perf_counter()
            try:
                response = await adapter.send(base.UpstreamRequest("/embeddings", body, call.request_id))
                counted = _counted(chat.input_estimate(call), response.body, model.provider.ref.name)
            except upstream_errors.UpstreamError as exc:
                call.upstream_wait_s += time.perf_counter() - sent
                charged = attempt_charges.charged(exc, chat.input_estimate(call))
                ms = (time.perf_counter() - sent) * 1000
                call.attempt(model, exc.error_class, status=exc.status, ms=ms, charged=charged)
                routing.failed(model.provider.ref, exc)
                if isinstance(exc, upstream_errors.BadRequest):
                    raise chat.client_error(exc) from exc
                last = exc
                continue
            call.upstream_wait_s += response.elapsed_s
            call.attempt(model, "ok", status=response.status, ms=response.elapsed_s * 1000)
            routing.succeeded(model.provider.ref, response.elapsed_s)
            call.model = model
            headers = call.headers()
            calls.finish(self._services, call, status=200, counted=counted)
            return chat.Completion(response.body, headers)
        raise _all_failed(call.body["model"], last, cooling)
