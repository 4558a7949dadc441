"""One ``POST /v1/responses`` request: continue a stored conversation, route, send, fail over, relay, account.

It is the chat flow (same planning, admission, failover, accounting and one log row) with three differences:
``previous_response_id`` is resolved first (the one store read a request may cost), each candidate gets the
Responses API natively or translated (``responses_dialects``), and a finished Response with ``store`` not false
is handed to the ``ResponseStore`` after the answer, never before it. A continuation goes to a native upstream
as sent (``previous_response_id`` and all) when that upstream produced the previous response, since it holds
the conversation itself; every other candidate gets the stored conversation in front of the new input.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson

from gateway import settings as settings_mod
from gateway.config import specs
from gateway.providers import base
from gateway.providers.wire import openai_responses
from gateway.serving import calls, chat, errors, planning
from gateway.serving import responses_dialects as dialects
from gateway.serving import stored_responses as store_mod
from gateway.serving.responses_relay import ResponsesRelay
from gateway.store import errors as store_errors
from gateway.store import responses_repo

DROPPED_HEADER = "x-tokenhub-dropped-tools"
STORED_STATUSES = frozenset({"completed", "incomplete"})
# Fields whose objects would live at the upstream's account, shared by every key behind it: not served.
UNSERVED = {
    "background": "background responses are not served: they finish after the request, unmetered",
    "conversation": "conversation objects are not served; continue a stored response with previous_response_id",
}


@dataclasses.dataclass(frozen=True, slots=True)
class ResponsesSettings:
    # built-in tools left out, not refused, for translated upstreams
    droppable_tools: frozenset[str] = settings_mod.RESPONSES_DROP_TOOLS_DEFAULT
    store: store_mod.StoreSettings = dataclasses.field(default_factory=store_mod.StoreSettings)


@dataclasses.dataclass(frozen=True, slots=True)
class _Turn:
    """A request ready for its candidates."""

    request: dict[str, Any]  # as the client sent it
    expanded: dict[str, Any]  # with the stored conversation in front of its input
    previous: responses_repo.StoredResponse | None
    response_id: str  # for a translated answer (a native upstream names its own)
    created_at: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Shaped:
    route: dialects.Route
    sent: dict[str, Any]  # the request as this candidate gets it
    echo: dict[str, Any]  # what a translated Response echoes
    dropped: tuple[str, ...]


def new_response_id() -> str:
    return "resp_" + secrets.token_hex(24)


def provider_name(candidate: planning.Candidate) -> str:
    ref = candidate.model.provider.ref
    return f"{ref.namespace}/{ref.name}"


class ResponsesFlow(chat.ChatFlow):
    def __init__(
        self,
        services: calls.Services,
        store: store_mod.ResponseStore,
        settings: ResponsesSettings | None = None,
        *,
        rng: random.Random | None = None,
        new_id: Callable[[], str] = new_response_id,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(services, rng)
        self.store = store
        self.settings = settings or ResponsesSettings()
        self._new_id = new_id
        self._clock = clock

    # -- stored responses ------------------------------------------------------------------------------------
    async def find(self, call: calls.Call, response_id: str) -> responses_repo.StoredResponse:
        """The stored response ``response_id`` of the call's ApiKey; ``NotFound`` for any other key's."""
        assert call.key is not None
        call.key.require(specs.Scope.CHAT)
        try:
            found = await self.store.find(response_id, call.key.namespace, call.key.name)
        except store_errors.StoreError as exc:
            raise errors.NoCapacity("stored responses cannot be read right now; retry later", retry_after=1) from exc
        if found is None:
            raise errors.NotFound(f"No response found with id {response_id!r}.", param="response_id")
        return found

    async def delete(self, call: calls.Call, response_id: str) -> None:
        assert call.key is not None
        call.key.require(specs.Scope.CHAT)
        try:
            deleted = await self.store.delete(response_id, call.key.namespace, call.key.name)
        except store_errors.StoreError as exc:
            raise errors.NoCapacity("stored responses cannot be changed right now; retry later", retry_after=1) from exc
        if not deleted:
            raise errors.NotFound(f"No response found with id {response_id!r}.", param="response_id")

    async def _turn(self, call: calls.Call) -> _Turn:
        """Resolve ``previous_response_id``; from here on ``call.body`` is the view routing and admission read."""
        assert call.body is not None
        request = call.body
        for field, reason in UNSERVED.items():
            if request.get(field):
                raise errors.InvalidRequest(f"{field}: {reason}", param=field)
        previous: responses_repo.StoredResponse | None = None
        expanded = request
        previous_id = request.get("previous_response_id")
        if isinstance(previous_id, str):
            try:
                previous = await self.find(call, previous_id)
            except errors.NotFound as exc:
                raise errors.NotFound(
                    f"Previous response with id {previous_id!r} not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                ) from exc
            expanded = dialects.continued(request, _conversation(previous))
        call.body = dialects.routing_body(expanded)
        return _Turn(request, expanded, previous, self._new_id(), int(self._clock()))

    def _shape(self, turn: _Turn, candidate: planning.Candidate) -> _Shaped:
        route = dialects.route_of(candidate.model.provider.spec)
        previous = turn.previous
        if route is dialects.Route.NATIVE:
            resumed = previous is not None and previous.native and previous.provider == provider_name(candidate)
            sent = turn.request if resumed else turn.expanded
            return _Shaped(route, sent, sent, ())
        sent, dropped = dialects.without_dropped_tools(turn.expanded, self.settings.droppable_tools)
        echo = sent if previous is None else {**sent, "previous_response_id": previous.id}
        return _Shaped(route, sent, echo, dropped)

    def _request(
        self, call: calls.Call, candidate: planning.Candidate, shaped: _Shaped, *, stream: bool
    ) -> base.UpstreamRequest:
        model = candidate.model
        openai_type = model.provider.spec.type is specs.ProviderType.OPENAI
        out = dialects.outbound(shaped.route, shaped.sent, model.spec.upstream_model, openai_type=openai_type)
        return base.UpstreamRequest(out.path, out.body, call.request_id, stream=stream)

    def _headers(self, call: calls.Call, shaped: _Shaped) -> dict[str, str]:
        headers = call.headers()
        if shaped.dropped:
            headers[DROPPED_HEADER] = ",".join(shaped.dropped)
            if call.attempts:
                call.attempts[-1]["dropped_tools"] = list(shaped.dropped)  # shown in the request log
            metrics = self._services.metrics
            for tool in shaped.dropped:
                metrics.child(metrics.responses_tools_dropped, tool).inc()
        return headers

    def _keep(
        self,
        call: calls.Call,
        turn: _Turn,
        candidate: planning.Candidate,
        response: dict[str, Any],
        body: bytes | None = None,
    ) -> None:
        """Hand a finished Response (``body``: as the client got it) to the store unless the client said
        ``store: false``."""
        if turn.request.get("store") is False or response.get("status") not in STORED_STATUSES:
            return
        response_id = response.get("id")
        if not isinstance(response_id, str) or not response_id or call.key is None:
            return
        route = dialects.route_of(candidate.model.provider.spec)
        self.store.save(
            responses_repo.StoredResponse(
                id=response_id,
                key_namespace=call.key.namespace,
                key_name=call.key.name,
                provider=provider_name(candidate),
                native=route is dialects.Route.NATIVE,
                conversation=orjson.dumps(openai_responses.input_items(turn.expanded)),
                response=body if body is not None else orjson.dumps(response),
                expires_at=self.store.expiry(),
            )
        )

    # -- the two ways to answer ------------------------------------------------------------------------------
    async def complete(self, call: calls.Call) -> chat.Completion:
        turn = await self._turn(call)

        async def attempt(candidate: planning.Candidate, adapter: base.ProviderAdapter) -> chat.Completion:
            shaped = self._shape(turn, candidate)
            model = candidate.model
            response = await adapter.send(self._request(call, candidate, shaped, stream=False))
            call.upstream_wait_s += response.elapsed_s
            inbound = dialects.inbound(
                shaped.route,
                shaped.echo,
                response.body,
                response_id=turn.response_id,
                created_at=turn.created_at,
                provider=model.provider.ref.name,
                input_estimate=chat.input_estimate(call),
            )
            self._succeeded(call, model, response.status, response.elapsed_s)
            headers = self._headers(call, shaped)
            cost = calls.finish(self._services, call, status=200, counted=inbound.usage)
            self._learn(call, model, success=True, latency_s=response.elapsed_s, cost=float(cost))
            self._keep(call, turn, candidate, inbound.response, inbound.body)
            return chat.Completion(inbound.body, headers, cost)

        return await self._run(call, attempt)

    async def stream(self, call: calls.Call) -> chat.StreamStart:
        turn = await self._turn(call)

        async def attempt(candidate: planning.Candidate, adapter: base.ProviderAdapter) -> chat.StreamStart:
            shaped = self._shape(turn, candidate)
            model = candidate.model
            upstream = await adapter.open_stream(self._request(call, candidate, shaped, stream=True))
            call.upstream_wait_s += upstream.first_byte_s
            self._succeeded(call, model, upstream.status, upstream.first_byte_s)
            self._learn(call, model, success=True, latency_s=upstream.first_byte_s)
            state = ResponsesRelay(
                shaped.route,
                shaped.echo,
                response_id=turn.response_id,
                created_at=turn.created_at,
                input_estimate=chat.input_estimate(call),
            )
            headers = self._headers(call, shaped)

            def keep_finished() -> None:
                if state.final is not None:
                    self._keep(call, turn, candidate, state.final)

            body = self._pump(call, upstream, state, call.overhead_ms(), on_delivered=keep_finished)
            return chat.StreamStart(headers, body, not upstream.complete)

        return await self._run(call, attempt)


def _conversation(stored: responses_repo.StoredResponse) -> list[dict[str, Any]]:
    """The items a continuation of ``stored`` starts with: what it answered, then its output."""
    items: list[dict[str, Any]] = orjson.loads(stored.conversation)
    output = orjson.loads(stored.response).get("output")
    return items + [item for item in output or () if isinstance(item, dict)]
