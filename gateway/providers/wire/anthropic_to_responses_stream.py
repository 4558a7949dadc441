"""An Anthropic event stream, event by event, as the OpenAI Responses event stream.

Each content block becomes one output item, as in ``anthropic_to_responses``: thinking deltas stream as
reasoning summary text and the block's signature arrives in ``encrypted_content`` when the item is done;
text deltas stream into a message item; a ``tool_use`` block streams its JSON as function call arguments.
``message_stop`` completes the response with Anthropic's usage, cache reads and writes included; an
``error`` event, or a stream that ends before ``message_stop``, ends in ``error`` and ``response.failed``.
"""

from __future__ import annotations

from typing import Any, Unpack

import orjson

from gateway.providers.wire import (
    anthropic_to_responses,
    custom_tools,
    error_bodies,
    reasoning_state,
    responses_objects,
    tool_ids,
    tool_namespaces,
)
from gateway.providers.wire.chat_to_responses_stream import CUT_SHORT
from gateway.providers.wire.responses_events import StreamOptions, TranslatedStream


class AnthropicToResponsesStream(TranslatedStream):
    def __init__(self, **given: Unpack[StreamOptions]) -> None:
        """As ``TranslatedStream``: ``request`` (the validated Responses request) and the response's identity."""
        super().__init__(**given)
        self._blocks: dict[int, dict[str, Any]] = {}  # open thinking blocks by index, as they will be sent back
        self._custom = tool_namespaces.custom_names(given["request"])
        self._custom_json: dict[int, str] = {}  # open custom tool calls by index: their JSON so far
        self._stop_reason: str | None = None

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._writer.ended:
            return []
        self._usage.feed_anthropic(event)
        out: list[dict[str, Any]] = []
        kind = event.get("type")
        if kind == "error":
            read = error_bodies.read(event)  # the upstream's words made safe to echo
            status = error_bodies.ANTHROPIC_STATUSES.get(read.type or "api_error", 500)
            message = read.message
            self._writer.fail(out, self._usage.usage(), code=responses_objects.error_code(status), message=message)
            return out
        self._writer.start(out)
        index = event.get("index", 0)
        if kind == "content_block_start":
            self._block_start(index, event.get("content_block") or {}, out)
        elif kind == "content_block_delta":
            self._block_delta(index, event.get("delta") or {}, out)
        elif kind == "content_block_stop":
            self._block_stop(index, out)
        elif kind == "message_delta":
            self._stop_reason = (event.get("delta") or {}).get("stop_reason") or self._stop_reason
        elif kind == "message_stop":
            incomplete = anthropic_to_responses.incomplete_reason(self._stop_reason)
            self._writer.complete(out, self._usage.usage(), incomplete=incomplete)
            self._clean = True
        return out

    def finish(self) -> list[dict[str, Any]]:
        """End the response at the end of the upstream stream; nothing when it already ended."""
        return self.fail(CUT_SHORT)

    def _block_start(self, index: int, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        kind = block.get("type")
        writer = self._writer
        if kind in ("thinking", "redacted_thinking"):
            self._blocks[index] = dict(block)
            writer.open_reasoning(out)
            if kind == "thinking" and block.get("thinking"):
                writer.reasoning(out, block["thinking"], summary=True)
        elif kind == "text":
            writer.close_message(out)  # one text block, one message item
            if block.get("text"):
                writer.text(out, block["text"])
        elif kind == "tool_use":
            call_id = tool_ids.from_anthropic(str(block.get("id") or ""))
            name = str(block.get("name") or "")
            custom = name in self._custom
            writer.call(out, index, call_id=call_id, name=name, custom=custom)
            given = orjson.dumps(block["input"]).decode() if block.get("input") else ""
            if custom:  # its input is the string inside {"input": ...}: sent whole when the block ends
                self._custom_json[index] = given
            elif given:
                writer.arguments(out, index, given)

    def _block_delta(self, index: int, delta: dict[str, Any], out: list[dict[str, Any]]) -> None:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            self._writer.text(out, delta["text"])
        elif kind == "thinking_delta" and index in self._blocks:
            block = self._blocks[index]
            block["thinking"] = (block.get("thinking") or "") + (delta.get("thinking") or "")
            if delta.get("thinking"):
                self._writer.reasoning(out, delta["thinking"], summary=True)
        elif kind == "signature_delta" and index in self._blocks:
            self._blocks[index]["signature"] = (self._blocks[index].get("signature") or "") + (
                delta.get("signature") or ""
            )
        elif kind == "input_json_delta" and delta.get("partial_json") and self._writer.has_call(index):
            if index in self._custom_json:
                self._custom_json[index] += delta["partial_json"]
            else:
                self._writer.arguments(out, index, delta["partial_json"])

    def _block_stop(self, index: int, out: list[dict[str, Any]]) -> None:
        block = self._blocks.pop(index, None)
        if block is not None:
            self._writer.close_reasoning(out, encrypted_content=reasoning_state.encode(block))
        elif index in self._custom_json and self._writer.has_call(index):
            tool_input = custom_tools.unwrapped_json(self._custom_json.pop(index))
            if tool_input:
                self._writer.arguments(out, index, tool_input)
            self._writer.close_call(out, index)
        elif self._writer.has_call(index):
            if not self._writer.open_calls()[index]:
                self._writer.arguments(out, index, "{}")  # a call without arguments, as the whole Message shows it
            self._writer.close_call(out, index)
        else:
            self._writer.close_message(out)
