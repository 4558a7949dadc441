"""The Responses API stream relay as a sans-I/O state machine: upstream SSE bytes in, Responses events out.

A native upstream's events go out as they came (each re-framed from its decoded fields, data unchanged); the
relay reads them for what the gateway needs: usage from the final ``response.completed`` / ``.incomplete`` /
``.failed``, the finished Response (for ``store``), the deltas' text (the estimate when the upstream never says),
and its error events, which reach the client rebuilt from their safe fields (``error_bodies.read``). Chat
Completions and Anthropic streams go through the ``wire`` stream translators event by event. However the upstream
stops, ``finish`` ends the client's stream properly: a stream cut short ends with an ``error`` event and
``response.failed``, numbered after the upstream's last event. A hostile upstream is cut, not followed (an event
past the decoder's cap, counts that are no counts, ``MAX_UNUSABLE_BYTES`` without a usable event): ``ended`` turns
true with the failure events sent, so the caller reads no more.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway import tokens
from gateway.providers.wire import error_bodies, responses_events, responses_objects, sse, usage
from gateway.providers.wire.anthropic_to_responses_stream import AnthropicToResponsesStream
from gateway.providers.wire.chat_to_responses_stream import CUT_SHORT, ChatToResponsesStream
from gateway.providers.wire.errors import MalformedUpstream
from gateway.serving.responses_dialects import Route

MAX_UNUSABLE_BYTES = sse.MAX_EVENT_BYTES  # bytes an upstream may send between two usable events

FINAL = frozenset({"response.completed", "response.incomplete"})
DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
    }
)


def _frame(event: sse.SseEvent) -> bytes:
    head = b"event: " + event.event.encode() + b"\n" if event.event else b""
    return head + b"".join([b"data: " + line.encode() + b"\n" for line in event.data.split("\n")]) + b"\n"


class ResponsesRelay:
    def __init__(
        self,
        route: Route,
        echo: dict[str, Any],
        *,
        response_id: str,
        created_at: int,
        input_estimate: int,
    ) -> None:
        """``echo`` is the request the translated Response echoes; ``response_id`` its id (native: unused)."""
        self._decoder = sse.SseDecoder()
        self._translator: ChatToResponsesStream | AnthropicToResponsesStream | None = None
        if route is Route.CHAT:
            self._translator = ChatToResponsesStream(
                request=echo, response_id=response_id, created_at=created_at, input_estimate=input_estimate
            )
        elif route is Route.ANTHROPIC:
            self._translator = AnthropicToResponsesStream(
                request=echo, response_id=response_id, created_at=created_at, input_estimate=input_estimate
            )
        self._input_estimate = input_estimate
        self._produced: list[str] = []  # native: the deltas' text, for an estimate
        self._unusable = 0  # bytes fed since the last usable event
        self._reported: usage.Usage | None = None
        self._envelope: dict[str, Any] | None = None  # native: the response of response.created
        self._items: list[dict[str, Any]] = []  # native: the items done so far
        self._sequence = -1  # native: the last sequence_number seen
        self._ended = False
        self._upstream_error: str | None = None
        self.final: dict[str, Any] | None = None  # the finished Response (completed or incomplete)

    @property
    def usage(self) -> usage.Usage:
        if self._translator is not None:
            return self._translator.usage
        if self._reported is not None:
            return self._reported
        return usage.Usage(self._input_estimate, tokens.estimate_text("".join(self._produced)), estimated=True)

    @property
    def upstream_error(self) -> str | None:
        return self._upstream_error

    @property
    def ended(self) -> bool:
        """Whether the client's stream has had its final event."""
        return self._ended

    @property
    def stop_reading(self) -> bool:
        return self._ended

    def feed(self, chunk: bytes) -> bytes:
        if self._ended:
            return b""
        self._unusable += len(chunk)
        out: list[bytes] = []
        try:
            for event in self._decoder.feed(chunk):
                out.append(self._event(event))
                if self._ended:
                    break
        except MalformedUpstream as exc:
            out.append(self._fail(exc.message))
        if self._unusable > MAX_UNUSABLE_BYTES and not self._ended:
            out.append(self._fail(f"the upstream sent more than {MAX_UNUSABLE_BYTES} bytes without a usable event"))
        return b"".join(out)

    def finish(self, broken: str | None = None) -> bytes:
        """The bytes that end the client's stream; ``broken`` says why the upstream stopped early, if it did."""
        if self._ended:
            return b""
        out: list[bytes] = []
        try:
            for event in self._decoder.flush():
                out.append(self._event(event))
        except MalformedUpstream as exc:
            broken = exc.message
        if self._ended:
            return b"".join(out)
        if self._translator is not None and broken is None:
            out.append(self._translated(self._translator.finish()))
            return b"".join(out)
        out.append(self._fail(broken or self._upstream_error or CUT_SHORT))
        return b"".join(out)

    def _fail(self, message: str) -> bytes:
        """End the client's stream as failed (``error`` unless already sent, then ``response.failed``)."""
        if self._translator is not None:
            self._upstream_error = self._upstream_error or message
            return self._translated(self._translator.fail(message))
        return self._native_failure(message)

    def _event(self, event: sse.SseEvent) -> bytes:
        if self._ended or event.is_done:
            return b""
        try:
            payload = event.json()
        except orjson.JSONDecodeError:
            return b""  # not JSON: nothing a client could use (keep-alive noise)
        if not isinstance(payload, dict):
            return b""
        self._unusable = 0
        if self._translator is not None:
            return self._translated(self._translator.feed(payload))
        return self._native(event, payload)

    def _translated(self, events: list[dict[str, Any]]) -> bytes:
        for event in events:
            self._note_final(event)
        return b"".join([responses_events.encode(event) for event in events])

    def _note_final(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in FINAL:
            self.final = event.get("response")
            self._ended = True
        elif kind == "response.failed":
            self._ended = True
            error = (event.get("response") or {}).get("error") or {}
            self._upstream_error = self._upstream_error or str(error.get("message") or "the response failed")
        elif kind == "error":
            self._upstream_error = str(event.get("message") or "upstream error")

    def _native(self, event: sse.SseEvent, payload: dict[str, Any]) -> bytes:
        sequence = payload.get("sequence_number")
        if isinstance(sequence, int) and not isinstance(sequence, bool):
            self._sequence = max(self._sequence, sequence)
        kind = payload.get("type")
        if kind in DELTAS:
            delta = payload.get("delta")
            if isinstance(delta, str):
                self._produced.append(delta)
        elif kind == "response.created" and isinstance(payload.get("response"), dict):
            self._envelope = payload["response"]
        elif kind == "response.output_item.done" and isinstance(payload.get("item"), dict):
            self._items.append(payload["item"])
        elif kind in FINAL or kind == "response.failed":
            self._reported = responses_objects.from_responses(payload) or self._reported
        if kind == "error":
            payload = _safe_error(payload)
        elif kind == "response.failed" and isinstance(payload.get("response"), dict):
            payload = {**payload, "response": {**payload["response"], **_safe_failure(payload["response"])}}
        else:
            self._note_final(payload)
            return _frame(event)
        self._note_final(payload)
        return responses_events.encode(payload)

    def _native_failure(self, message: str) -> bytes:
        """``error`` (unless the upstream sent one) and ``response.failed`` for a native stream that stopped
        before its final event."""
        self._ended = True
        told = self._upstream_error is not None  # the upstream's own error event went out already
        self._upstream_error = message
        response = dict(self._envelope or {"id": "", "object": "response", "created_at": 0, "output": []})
        response["status"] = "failed"
        response["error"] = {"code": "server_error", "message": message}
        response["output"] = self._items
        response["usage"] = responses_objects.usage_body(self.usage)
        out = b""
        if not told:
            self._sequence += 1
            error = {"type": "error", "sequence_number": self._sequence, "code": "server_error", "message": message}
            out = responses_events.encode({**error, "param": None})
        failed = {"type": "response.failed", "sequence_number": self._sequence + 1, "response": response}
        return out + responses_events.encode(failed)


def _safe_error(payload: dict[str, Any]) -> dict[str, Any]:
    """An upstream ``error`` event rebuilt from its fields made safe to echo."""
    read = error_bodies.read({"error": {key: payload.get(key) for key in ("message", "code", "param")}})
    rebuilt = {"type": "error", "code": read.code, "message": read.message, "param": read.param}
    if isinstance(payload.get("sequence_number"), int):
        rebuilt["sequence_number"] = payload["sequence_number"]
    return rebuilt


def _safe_failure(response: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` of a failed Response made safe to echo."""
    error = response.get("error")
    if not isinstance(error, dict):
        return {}
    read = error_bodies.read({"error": {key: error.get(key) for key in ("message", "code")}})
    return {"error": {"code": read.code or "server_error", "message": read.message}}
