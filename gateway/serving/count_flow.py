"""``POST /v1/messages/count_tokens``: Anthropic's own count when an Anthropic upstream would answer, else ours.

The request is routed as the same Messages request would be (model names, aliases, ``allowedModels``, scopes) and
the first candidate that takes traffic counts it: an Anthropic upstream with its own ``/v1/messages/count_tokens``
(free, and its tokenizer is the one that bills), any other provider with the local estimate
(``count_tokens.count``: the gateway does not know its tokenizer). An Anthropic upstream that fails (rate limited,
down, no such endpoint, an answer without a count) also gets the estimate: a count is advisory, and the counter
failing must not fail the client. Only a 400/422 is shown as the client's own mistake, as Messages would show it.
``x-tokenhub-token-count`` says which: ``exact`` or ``estimate``. A count costs nothing, reserves no budget, and
leaves provider health alone (Anthropic limits counting separately); it writes one request-log row, without tokens.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.providers import base
from gateway.providers import errors as upstream_errors
from gateway.serving import calls, chat, count_tokens, planning, upstreams

PATH = "/messages/count_tokens"
CLIENT_MISTAKES = (400, 422)


class CountFlow(chat.ChatFlow):
    async def complete(self, call: calls.Call) -> chat.Completion:
        assert call.body is not None
        candidates = self._plan(call)
        failures = chat._Failures()
        for candidate in candidates:
            adapter = self._usable(call, candidate, failures)
            if adapter is None:
                continue
            call.model = candidate.model
            if upstreams.dialect(candidate.model.provider.spec.type) == "anthropic":
                exact = await self._ask(call, candidate, adapter)
                if exact is not None:
                    return self._answer(call, exact, "exact")
            break
        if call.model is None and candidates:
            call.model = candidates[0].model
        return self._answer(call, orjson.dumps(count_tokens.count(call.body)), "estimate")

    def _answer(self, call: calls.Call, body: bytes, source: str) -> chat.Completion:
        headers = call.headers()
        headers["x-tokenhub-token-count"] = source
        calls.finish(self._services, call, status=200)
        return chat.Completion(body, headers)

    async def _ask(
        self, call: calls.Call, candidate: planning.Candidate, adapter: base.ProviderAdapter
    ) -> bytes | None:
        """The upstream's answer when it holds a count; None when the estimate must stand in."""
        assert call.body is not None
        model = candidate.model
        forwarded, query = chat.passthrough(call, "anthropic")
        body = orjson.dumps({**call.body, "model": model.spec.upstream_model})
        request = base.UpstreamRequest(PATH + query, body, call.request_id, headers=forwarded)
        metrics = self._services.metrics
        sent = time.perf_counter()
        try:
            response = await adapter.send(request)
        except upstream_errors.UpstreamError as exc:
            ms = (time.perf_counter() - sent) * 1000
            call.upstream_wait_s += ms / 1000
            call.attempt(model, exc.error_class, status=exc.status, ms=ms)
            metrics.child(metrics.upstream_attempts, model.provider.ref.name, exc.error_class).inc()
            if isinstance(exc, upstream_errors.BadRequest) and exc.status in CLIENT_MISTAKES:
                raise chat.client_error(exc) from exc
            return None
        call.upstream_wait_s += response.elapsed_s
        if not _holds_count(response.body):
            malformed = upstream_errors.MalformedResponse.error_class  # a 2xx without a count
            call.attempt(model, malformed, status=response.status, ms=response.elapsed_s * 1000)
            metrics.child(metrics.upstream_attempts, model.provider.ref.name, malformed).inc()
            return None
        call.attempt(model, "ok", status=response.status, ms=response.elapsed_s * 1000)
        metrics.child(metrics.upstream_attempts, model.provider.ref.name, "ok").inc()
        return response.body

    async def stream(self, call: calls.Call) -> chat.StreamStart:
        raise AssertionError("count_tokens requests do not stream (refused when parsed)")


def _holds_count(raw: bytes) -> bool:
    try:
        parsed: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    count = parsed.get("input_tokens") if isinstance(parsed, dict) else None
    return isinstance(count, int) and not isinstance(count, bool) and count >= 0
