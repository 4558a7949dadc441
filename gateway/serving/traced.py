"""A provider adapter seen through a request's trace: each call is one client span, ``traceparent`` goes upstream.

Only built when tracing is on (``call.trace`` is set), around the adapter of one attempt. The upstream's answer
is scanned for the model it names and its finish reasons with two byte patterns rather than parsed again; a
pattern split across two stream chunks is missed, which costs an attribute, never the answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import urllib.parse
from collections.abc import AsyncIterator, Iterator

from opentelemetry import trace

from gateway.config import snapshot
from gateway.observability import tracing
from gateway.providers import base
from gateway.providers import errors as upstream_errors

_MODEL = re.compile(rb'(?<!\\)"model"\s*:\s*"([^"\\]{1,256})"')
_FINISH = re.compile(rb'(?<!\\)"(?:finish_reason|stop_reason)"\s*:\s*"([^"\\]{1,64})"')
MAX_FINISH_REASONS = 8


class _Answer:
    """The response model and finish reasons found so far in an answer's bytes."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self._model_seen = False
        self._reasons: list[str] = []

    def scan(self, data: bytes) -> None:
        if not self._model_seen and (found := _MODEL.search(data)) is not None:
            self._model_seen = True
            self._span.set_attribute("gen_ai.response.model", found.group(1).decode("utf-8", "replace"))
        if b"_reason" in data:
            fresh = False
            for match in _FINISH.finditer(data):
                reason = match.group(1).decode("utf-8", "replace")
                if len(self._reasons) < MAX_FINISH_REASONS:
                    self._reasons.append(reason)
                    fresh = True
            if fresh:
                self._span.set_attribute("gen_ai.response.finish_reasons", self._reasons)


class Stream:
    """An upstream stream whose chunks are scanned on their way to the relay."""

    def __init__(self, inner: base.UpstreamStream, answer: _Answer) -> None:
        self._inner = inner
        self._answer = answer
        self.status = inner.status
        self.headers = inner.headers
        self.open_s = inner.open_s
        self.first_byte_s = inner.first_byte_s
        self._chunks: AsyncIterator[bytes] | None = None

    @property
    def complete(self) -> bool:
        return self._inner.complete

    @property
    def exhausted(self) -> bool:
        return self._inner.exhausted

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._chunks = self._inner.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        assert self._chunks is not None
        chunk = await self._chunks.__anext__()
        self._answer.scan(chunk)
        return chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class Adapter:
    """``inner`` with one client span per ``send`` / ``open_stream``; probes and closing pass straight through."""

    def __init__(
        self, inner: base.ProviderAdapter, request: tracing.RequestTrace, model: snapshot.ModelEntry, operation: str
    ) -> None:
        self._inner = inner
        self._request = request
        self._model = model
        self._operation = operation
        self.config = inner.config

    def _start(self) -> trace.Span:
        model, provider = self._model, self._model.provider
        upstream_model = model.spec.upstream_model
        url = urllib.parse.urlsplit(self.config.base_urls[0]) if self.config.base_urls else None
        attributes: dict[str, str | int] = {
            "gen_ai.operation.name": self._operation,
            "gen_ai.provider.name": provider.spec.type.value,
            "gen_ai.request.model": upstream_model,
            "tokenhub.model": model.ref.name,
            "tokenhub.provider": provider.ref.name,
        }
        if url is not None and url.hostname:
            attributes["server.address"] = url.hostname
            attributes["server.port"] = url.port or (443 if url.scheme == "https" else 80)
        return self._request.attempt(f"{self._operation} {upstream_model}", attributes)

    def _traced(self, req: base.UpstreamRequest, span: trace.Span) -> base.UpstreamRequest:
        return dataclasses.replace(req, headers=req.headers + self._request.upstream_headers(span))

    @contextlib.contextmanager
    def _failures(self, span: trace.Span) -> Iterator[None]:
        """End the attempt's span as failed when the attempt raises."""
        try:
            yield
        except upstream_errors.UpstreamError as exc:
            self._request.failed(span, exc.error_class, exc.status, exc.message)
            raise
        except BaseException as exc:
            self._request.failed(span, type(exc).__qualname__, None, str(exc))
            raise

    async def send(self, req: base.UpstreamRequest) -> base.UpstreamResponse:
        span = self._start()
        with self._failures(span):
            response = await self._inner.send(self._traced(req, span))
        _Answer(span).scan(response.body)
        self._request.answered(span, response.status)
        return response

    async def open_stream(self, req: base.UpstreamRequest) -> base.UpstreamStream:
        span = self._start()
        with self._failures(span):
            stream = await self._inner.open_stream(self._traced(req, span))
        self._request.answered(span, stream.status)
        return Stream(stream, _Answer(span))

    async def probe(self) -> base.ProbeResult:
        return await self._inner.probe()

    async def close(self) -> None:
        await self._inner.close()
