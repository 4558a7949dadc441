"""An OTLP/HTTP trace receiver on 127.0.0.1: what a collector would get from the gateway, decoded.

It answers ``POST /v1/traces`` as a collector does (``ExportTraceServiceResponse``, protobuf) and decodes each
``ExportTraceServiceRequest`` with opentelemetry-proto into plain ``Span`` values the tests compare.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

KINDS = {
    trace_pb2.Span.SPAN_KIND_SERVER: "server",
    trace_pb2.Span.SPAN_KIND_CLIENT: "client",
    trace_pb2.Span.SPAN_KIND_INTERNAL: "internal",
}


def value_of(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


@dataclass(frozen=True)
class Span:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[tuple[str, int]]  # (name, time in ns)
    status: str  # "unset", "ok", "error"
    status_message: str
    resource: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.attributes[key]


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.exports = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/traces", self._export)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1/traces"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _export(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-protobuf":
            return web.Response(status=415)
        raw = await request.read()
        if request.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        exported = trace_service_pb2.ExportTraceServiceRequest()
        exported.ParseFromString(raw)
        self.exports += 1
        self.spans.extend(_decoded(exported))
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span.name == name]

    def children(self, parent: Span) -> list[Span]:
        """``parent``'s children in start order."""
        found = [s for s in self.spans if s.trace_id == parent.trace_id and s.parent_span_id == parent.span_id]
        return sorted(found, key=lambda s: s.start_ns)

    def tree(self, root: Span, keys: tuple[str, ...] = (), depth: int = 0) -> Iterator[str]:
        """``root`` and its descendants, indented: name, kind, status and duration, then the chosen attributes."""
        pad = "    " * depth
        status = " ERROR" if root.status == "error" else ""
        yield f"{pad}{root.name}  ({root.kind}{status}, {(root.end_ns - root.start_ns) / 1e6:.1f} ms)"
        for key in dict.fromkeys(keys):
            if key in root.attributes:
                yield f"{pad}  | {key} = {root.attributes[key]!r}"
        for child in self.children(root):
            yield from self.tree(child, keys, depth + 1)


def _decoded(exported: trace_service_pb2.ExportTraceServiceRequest) -> Iterator[Span]:
    statuses = {
        trace_pb2.Status.STATUS_CODE_UNSET: "unset",
        trace_pb2.Status.STATUS_CODE_OK: "ok",
        trace_pb2.Status.STATUS_CODE_ERROR: "error",
    }
    for resource_spans in exported.resource_spans:
        resource = {kv.key: value_of(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    name=span.name,
                    kind=KINDS.get(span.kind, str(span.kind)),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes={kv.key: value_of(kv.value) for kv in span.attributes},
                    events=[(event.name, event.time_unix_nano) for event in span.events],
                    status=statuses.get(span.status.code, "unset"),
                    status_message=span.status.message,
                    resource=resource,
                )
