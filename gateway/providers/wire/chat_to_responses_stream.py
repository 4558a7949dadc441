"""A Chat Completions chunk stream, chunk by chunk, as the OpenAI Responses event stream.

Reasoning deltas (``reasoning_content`` or ``reasoning``) become a reasoning item, content and refusal
deltas a message item, each tool call its own call item. A call ends when the next begins if its arguments
already parse (the usual, sequential case, as OpenAI streams it); otherwise calls stay open side by side,
since parallel calls may interleave their fragments, and end at the finish reason. ``response.completed`` waits for
``finish()``, because Chat Completions reports usage after the finish reason. A stream that ends without a
finish reason, or with an in-stream ``{"error": ...}``, ends in ``error`` and ``response.failed``: unlike a
Chat client, a Responses client would take ``response.incomplete`` as a deliberate stop.
"""

from __future__ import annotations

from typing import Any, Unpack

import orjson

from gateway.providers.wire import (
    chat_to_responses,
    custom_tools,
    error_bodies,
    responses_objects,
    tool_namespaces,
)
from gateway.providers.wire.responses_events import StreamOptions, TranslatedStream

CUT_SHORT = "the upstream stream ended before the answer was complete"


class ChatToResponsesStream(TranslatedStream):
    def __init__(self, **given: Unpack[StreamOptions]) -> None:
        """As ``TranslatedStream``: ``request`` (the validated Responses request) and the response's identity."""
        super().__init__(**given)
        self._calls: set[int] = set()  # tool_calls indexes seen
        self._custom_names = tool_namespaces.custom_names(given["request"])
        self._wrapped: dict[object, str] = {}  # open custom calls made as function calls: their JSON so far
        self._dropped_fragments = 0
        self._reasoning_tokens = 0
        self._finish_reason: str | None = None

    @property
    def dropped_fragments(self) -> int:
        """Argument fragments that came after their call had ended (with the finish reason): unsendable."""
        return self._dropped_fragments

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._writer.ended:
            return []
        out: list[dict[str, Any]] = []
        if chunk.get("error") is not None and not chunk.get("choices"):
            read = error_bodies.read(chunk)
            status = error_bodies.OPENAI_STATUSES.get(read.type or "", 500)
            self._fail(out, responses_objects.error_code(status, read.type), read.message)
            return out
        self._usage.feed_openai(chunk)
        if isinstance(chunk.get("usage"), dict):
            self._reasoning_tokens = responses_objects.reasoning_tokens(chunk["usage"])
        self._writer.start(out)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0:
                self._choice(choice, out)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """End the response at the end of the upstream stream; nothing when it already ended."""
        if self._writer.ended:
            return []
        out: list[dict[str, Any]] = []
        if self._finish_reason is None:
            self._fail(out, "server_error", CUT_SHORT)
            return out
        incomplete = chat_to_responses.incomplete_reason(self._finish_reason)
        counted = self._usage.usage()
        self._writer.complete(out, counted, reasoning_tokens=self._reasoning_tokens, incomplete=incomplete)
        self._clean = True
        return out

    def _fail(self, out: list[dict[str, Any]], code: str, message: str) -> None:
        self._writer.fail(out, self._usage.usage(), code=code, message=message)

    def _choice(self, choice: dict[str, Any], out: list[dict[str, Any]]) -> None:
        delta = choice.get("delta") or {}
        writer = self._writer
        reasoning = chat_to_responses.reasoning_text(delta)
        if reasoning:
            writer.reasoning(out, reasoning)
        if isinstance(content := delta.get("content"), str) and content:
            writer.text(out, content)
        if isinstance(refusal := delta.get("refusal"), str) and refusal:
            writer.refusal(out, refusal)
        for call in delta.get("tool_calls") or ():
            self._call(call, out)
        reason = choice.get("finish_reason")
        if reason:
            self._finish_reason = str(reason)
            for index in list(self._wrapped):
                self._close_wrapped(out, index)
            writer.close_all(out)

    def _call(self, call: dict[str, Any], out: list[dict[str, Any]]) -> None:
        index = call.get("index", 0)
        custom = call.get("custom") if isinstance(call.get("custom"), dict) else None
        spec = custom if custom is not None else call.get("function") or {}
        if index not in self._calls:
            self._close_complete_calls(out)
            self._calls.add(index)
            call_id = call.get("id") or f"call_{self._response_id.removeprefix('resp_')}_{index}"
            name = str(spec.get("name") or "")
            wrapped = custom is None and name in self._custom_names
            if wrapped:  # a custom tool sent up as a function tool: its input is sent whole once its JSON is
                self._wrapped[index] = ""
            self._writer.call(out, index, call_id=str(call_id), name=name, custom=custom is not None or wrapped)
        fragment = spec.get("input" if custom is not None else "arguments")
        if not isinstance(fragment, str) or not fragment:
            return
        if not self._writer.has_call(index):
            self._dropped_fragments += 1
        elif index in self._wrapped:
            self._wrapped[index] += fragment
        else:
            self._writer.arguments(out, index, fragment)

    def _close_wrapped(self, out: list[dict[str, Any]], index: object) -> None:
        tool_input = custom_tools.unwrapped_json(self._wrapped.pop(index))
        if tool_input:
            self._writer.arguments(out, index, tool_input)
        self._writer.close_call(out, index)

    def _close_complete_calls(self, out: list[dict[str, Any]]) -> None:
        """End the open calls whose arguments are already a whole JSON object: the usual, sequential case,
        which then looks exactly like OpenAI's own stream. Others stay open, as their fragments may follow."""
        for key, arguments in self._writer.open_calls().items():
            given = self._wrapped.get(key, arguments)
            try:
                whole = isinstance(orjson.loads(given), dict)
            except orjson.JSONDecodeError:
                whole = False
            if whole and key in self._wrapped:
                self._close_wrapped(out, key)
            elif whole:
                self._writer.close_call(out, key)
