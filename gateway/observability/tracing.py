"""OpenTelemetry traces of the model endpoints: a server span per request, a client span per upstream attempt.

Names and attributes follow the GenAI semantic conventions (``gen_ai.*``) with TokenHub's own beside them
(``tokenhub.*``: the routing decision, cost, key, attempt number, failover reason). Off by default: then no
``Tracing`` exists, the ASGI app is not wrapped, and the request path pays one ``is not None`` per hook. On, spans
go through the SDK's ``BatchSpanProcessor``, whose thread exports them over OTLP/HTTP off the event loop.

A request's ``RequestTrace`` reaches its ``serving.calls.Call`` through a context variable set by ``Middleware``
for that request's task only (the one piece of per-task state; nothing is shared between requests).
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk import resources
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import export, sampling
from opentelemetry.sdk.version import __version__ as sdk_version
from opentelemetry.trace.propagation import tracecontext
from opentelemetry.util import types as otel_types
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability import tracing_settings

# The GenAI operation of each model endpoint's request-log name; endpoints not listed are no GenAI operation.
OPERATIONS: Mapping[str, str] = {
    "chat.completions": "chat",
    "messages": "chat",
    "chat": "chat",
    "responses": "chat",
    "embeddings": "embeddings",
}
MAX_DECISION_CANDIDATES = 10  # ranked candidates listed on a span (a policy may rank hundreds)
MAX_TEXT = 256  # client-given strings (the requested model) are cut to this many characters

_PROPAGATED = (b"traceparent", b"tracestate")
_CURRENT: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar("tokenhub_trace", default=None)


def current() -> RequestTrace | None:
    """The trace of the request this task serves; ``None`` when tracing is off."""
    return _CURRENT.get()


class FinishedRequest(Protocol):
    """What a finished request reports (``store.logs_repo.RequestLogRow`` has these fields)."""

    @property
    def request_id(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def key_namespace(self) -> str | None: ...
    @property
    def key_name(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def stream(self) -> bool: ...
    @property
    def error_class(self) -> str | None: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def usage_estimated(self) -> bool: ...
    @property
    def cost_usd(self) -> Decimal: ...
    @property
    def ttft_ms(self) -> float | None: ...


class RankedCandidate(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def score(self) -> float: ...


class RoutingDecision(Protocol):
    """What spans show of a routing decision (``routing.decision.Decision``)."""

    @property
    def policy(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def alias(self) -> str | None: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def ranking(self) -> Sequence[int]: ...
    def candidate(self, rank: int) -> RankedCandidate: ...


def _sampler(settings: tracing_settings.TracingSettings) -> sampling.Sampler:
    kind = tracing_settings.Sampler
    chosen: dict[tracing_settings.Sampler, sampling.Sampler] = {
        kind.ALWAYS_ON: sampling.ALWAYS_ON,
        kind.ALWAYS_OFF: sampling.ALWAYS_OFF,
        kind.TRACE_ID_RATIO: sampling.TraceIdRatioBased(settings.ratio),
        kind.PARENT_BASED_ALWAYS_ON: sampling.ParentBased(sampling.ALWAYS_ON),
        kind.PARENT_BASED_ALWAYS_OFF: sampling.ParentBased(sampling.ALWAYS_OFF),
        kind.PARENT_BASED_TRACE_ID_RATIO: sampling.ParentBasedTraceIdRatio(settings.ratio),
    }
    return chosen[settings.sampler]


class Tracing:
    """The SDK's tracer provider of one gateway process (never installed as the global one)."""

    def __init__(
        self,
        settings: tracing_settings.TracingSettings,
        *,
        version: str,
        exporter: export.SpanExporter | None = None,
    ) -> None:
        attributes = {
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.language": "python",
            "telemetry.sdk.version": sdk_version,
            "service.version": version,
            **settings.resource_attributes,
            "service.name": settings.service_name,
        }
        self._provider = sdk_trace.TracerProvider(
            sampler=_sampler(settings), resource=resources.Resource(attributes), shutdown_on_exit=False
        )
        self._provider.add_span_processor(
            export.BatchSpanProcessor(exporter or OTLPSpanExporter(endpoint=settings.endpoint))
        )
        self.tracer = self._provider.get_tracer("tokenhub.gateway", version)
        self.propagator = tracecontext.TraceContextTextMapPropagator()

    def middleware(self, app: ASGIApp) -> Middleware:
        return Middleware(app, self)

    def begin(self, scope: Scope) -> RequestTrace:
        """The server span of one model-endpoint request, a child of the client's ``traceparent`` if it sent one."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"] if name in _PROPAGATED
        }
        parent = self.propagator.extract(carrier) if carrier else None
        method: str = scope["method"]
        path: str = scope["path"]  # one of the model endpoints' fixed paths: a bounded set of span names
        attributes: otel_types.Attributes = {
            "http.request.method": method,
            "http.route": path,
            "url.path": path,
            "url.scheme": scope.get("scheme", "http"),
        }
        span = self.tracer.start_span(f"{method} {path}", parent, trace.SpanKind.SERVER, attributes)
        return RequestTrace(self, span)

    def force_flush(self, timeout_s: float = 30.0) -> bool:
        """Export every ended span now (blocking: call it off the event loop)."""
        return self._provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Export what is left and stop the exporter thread (blocking: call it off the event loop)."""
        self._provider.shutdown()


class Middleware:
    """Pure ASGI: one server span around each request it passes on, ended when the response (stream) has ended."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self.tracing.begin(scope)
        token = _CURRENT.set(request)

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                request.status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException as exc:
            request.span.record_exception(exc)
            request.crashed = type(exc).__qualname__
            raise
        finally:
            _CURRENT.reset(token)
            request.end()


class RequestTrace:
    """One request's spans: the server span, and the client span of each upstream attempt."""

    __slots__ = ("_answered", "_attempts", "_context", "_last_failure", "_tracing", "crashed", "span", "status")

    def __init__(self, tracing: Tracing, span: trace.Span) -> None:
        self._tracing = tracing
        self.span = span
        self._context = trace.set_span_in_context(span)
        self._attempts = 0
        self._last_failure: str | None = None
        self._answered: trace.Span | None = None  # the attempt that answered, open until the request is finished
        self.status: int | None = None
        self.crashed: str | None = None

    # -- upstream attempts ---------------------------------------------------------------------------------------
    def attempt(self, name: str, attributes: otel_types.Attributes) -> trace.Span:
        """A client span for the next upstream attempt, numbered, with why the previous one was left."""
        if self._answered is not None:  # it answered, but its answer could not be used: failed over from it
            self.failed(self._answered, "unusable_answer", None)
        self._attempts += 1
        span = self._tracing.tracer.start_span(name, self._context, trace.SpanKind.CLIENT, attributes)
        span.set_attribute("tokenhub.attempt", self._attempts)
        if self._last_failure is not None:
            span.set_attribute("tokenhub.failover.reason", self._last_failure)
        return span

    def upstream_headers(self, span: trace.Span) -> tuple[tuple[str, str], ...]:
        """``traceparent`` (and ``tracestate``) naming ``span`` as the parent of the upstream's work."""
        carrier: dict[str, str] = {}
        self._tracing.propagator.inject(carrier, trace.set_span_in_context(span))
        return tuple(carrier.items())

    def failed(self, span: trace.Span, error_type: str, status: int | None, message: str | None = None) -> None:
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        span.set_attribute("error.type", error_type)
        span.set_status(trace.StatusCode.ERROR, message[:MAX_TEXT] if message else None)
        span.end()
        self._last_failure = error_type
        if span is self._answered:
            self._answered = None

    def answered(self, span: trace.Span, status: int) -> None:
        """The attempt's answer arrived (a stream: its first byte); its span ends when the request is finished."""
        span.set_attribute("http.response.status_code", status)
        self._answered = span

    # -- the request ---------------------------------------------------------------------------------------------
    def finished(self, row: FinishedRequest, decision: RoutingDecision | None, requested_model: object) -> None:
        """Usage, cost, key and decision of the finished request, on its span and on the attempt that answered."""
        span = self.span
        if not span.is_recording():
            return
        operation = OPERATIONS.get(row.endpoint)
        attributes: dict[str, otel_types.AttributeValue] = {
            "tokenhub.request_id": row.request_id,
            "tokenhub.stream": row.stream,
        }
        if operation is not None:
            attributes["gen_ai.operation.name"] = operation
        if isinstance(requested_model, str):
            attributes["gen_ai.request.model"] = requested_model[:MAX_TEXT]
        if row.key_name is not None:
            attributes["tokenhub.api_key.name"] = row.key_name
            attributes["tokenhub.api_key.namespace"] = row.key_namespace or ""
        if row.error_class is not None:
            attributes["error.type"] = row.error_class
        usage: dict[str, otel_types.AttributeValue] = {}
        if row.model is not None:
            attributes["tokenhub.model"] = row.model
            attributes["tokenhub.provider"] = row.provider or ""
            usage = {
                "gen_ai.usage.input_tokens": row.input_tokens,
                "gen_ai.usage.output_tokens": row.output_tokens,
                "tokenhub.usage.estimated": row.usage_estimated,
                "tokenhub.cost_usd": float(row.cost_usd),
            }
        if row.ttft_ms is not None:
            attributes["gen_ai.server.time_to_first_token"] = row.ttft_ms / 1000
            start = getattr(span, "start_time", None)
            if isinstance(start, int):
                span.add_event("gen_ai.first_token", timestamp=start + int(row.ttft_ms * 1e6))
        if decision is not None:
            attributes.update(decision_attributes(decision))
        span.set_attributes({**attributes, **usage})
        answered = self._answered
        if answered is not None:
            self._answered = None
            answered.set_attributes(usage)
            if row.error_class is not None:  # a stream that broke after its first byte
                self.failed(answered, row.error_class, None)
            else:
                answered.end()

    def end(self) -> None:
        if self._answered is not None:  # never finished: a bug ended the request
            self.failed(self._answered, self.crashed or "unfinished", None)
        span = self.span
        if self.status is not None:
            span.set_attribute("http.response.status_code", self.status)
        if self.crashed is not None or (self.status is not None and self.status >= 500):
            if self.crashed is not None:
                span.set_attribute("error.type", self.crashed)
            span.set_status(trace.StatusCode.ERROR)
        span.end()


def decision_attributes(decision: RoutingDecision) -> dict[str, otel_types.AttributeValue]:
    """``tokenhub.decision.*``: policy, mode, reason, the ranked candidates (best first) and their scores."""
    ranked = [decision.candidate(rank) for rank in range(min(len(decision.ranking), MAX_DECISION_CANDIDATES))]
    attributes: dict[str, otel_types.AttributeValue] = {
        "tokenhub.decision.policy": decision.policy,
        "tokenhub.decision.mode": str(decision.mode),
        "tokenhub.decision.reason": decision.reason,
        "tokenhub.decision.degraded": decision.degraded,
        "tokenhub.decision.candidates": [c.name for c in ranked],
        "tokenhub.decision.scores": [round(c.score, 6) for c in ranked],
        "tokenhub.decision.candidate_count": len(decision.ranking),
    }
    if ranked:
        attributes["tokenhub.decision.chosen"] = ranked[0].name
        attributes["tokenhub.decision.score"] = round(ranked[0].score, 6)
    if decision.alias is not None:
        attributes["tokenhub.decision.alias"] = decision.alias
    return attributes
