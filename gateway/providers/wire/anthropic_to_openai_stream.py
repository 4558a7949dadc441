"""An Anthropic event stream, event by event, as OpenAI chat.completion.chunk objects.

The chunks follow OpenAI's own order: a first chunk carrying the role, content and tool-call deltas (a tool
call's first delta has its index, id and name, later ones argument fragments), a chunk with the finish reason,
then - as OpenAI does when ``stream_options.include_usage`` is set - a usage chunk with empty ``choices``.
Thinking deltas travel as ``reasoning_content``, the field OpenAI-compatible reasoning servers use. A stream
that stops without ``message_stop`` is still closed by ``finish()``: finish reason ``length`` (the answer was
cut short) and the best known usage, estimated where the upstream never counted.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import anthropic_to_openai, error_bodies, tool_ids, usage


class AnthropicToOpenAIStream:
    def __init__(
        self, *, created: int, model: str | None = None, include_usage: bool = True, input_estimate: int = 0
    ) -> None:
        self._created = created
        self._model = model
        self._id = "chatcmpl-unknown"
        self._include_usage = include_usage
        self._usage = usage.UsageAccumulator(input_estimate)
        self._tool_index: dict[int, int] = {}  # Anthropic content block index -> OpenAI tool_calls index
        self._started = False
        self._finish_reason: str | None = None
        self._finished = False  # the chunk with the finish reason was sent
        self._closed = False  # nothing more will be sent
        self._clean = False

    @property
    def ended_cleanly(self) -> bool:
        """Whether the upstream closed the message itself (``message_stop``) without an error."""
        return self._clean

    @property
    def usage(self) -> usage.Usage:
        return self._usage.usage()

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._closed:
            return []
        self._usage.feed_anthropic(event)
        kind = event.get("type")
        out: list[dict[str, Any]] = []
        if kind == "message_start":
            message = event.get("message") or {}
            self._id = message.get("id") or self._id
            self._model = self._model or message.get("model")
            self._start(out)
        elif kind == "content_block_start":
            self._start(out)
            self._block_start(event, out)
        elif kind == "content_block_delta":
            self._start(out)
            self._block_delta(event, out)
        elif kind == "message_delta":
            self._start(out)
            delta = event.get("delta") or {}
            self._finish_reason = anthropic_to_openai.finish_reason(delta.get("stop_reason"))
            out.append(self._chunk({}, self._finish_reason))
            self._finished = True
        elif kind == "message_stop":
            self._start(out)
            self._clean = True
            self._close(out)
        elif kind == "error":
            error = event.get("error") or {}
            read = error_bodies.read({"error": error}) if isinstance(error, dict) else error_bodies.read(event)
            error_type = read.type or "api_error"
            status = error_bodies.ANTHROPIC_STATUSES.get(error_type, 500)
            out.append(error_bodies.openai_body(status, read.message, code=error_type))
            self._closed = True
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Close the answer at the end of the upstream stream; nothing when it was already closed."""
        if self._closed:
            return []
        out: list[dict[str, Any]] = []
        self._start(out)
        self._close(out)
        return out

    def _start(self, out: list[dict[str, Any]]) -> None:
        if not self._started:
            self._started = True
            out.append(self._chunk({"role": "assistant", "content": ""}))

    def _close(self, out: list[dict[str, Any]]) -> None:
        if not self._finished:
            out.append(self._chunk({}, self._finish_reason or "length"))
            self._finished = True
        if self._include_usage:
            out.append(self._envelope([]) | {"usage": self._usage.usage().to_openai()})
        self._closed = True

    def _block_start(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        block = event.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            index = len(self._tool_index)
            self._tool_index[event.get("index", 0)] = index
            tool_input = block.get("input")
            arguments = orjson.dumps(tool_input).decode() if tool_input else ""
            call = {
                "index": index,
                "id": tool_ids.from_anthropic(str(block.get("id") or "")),
                "type": "function",
                "function": {"name": block.get("name") or "", "arguments": arguments},
            }
            out.append(self._chunk({"tool_calls": [call]}))
        elif kind == "text" and block.get("text"):
            out.append(self._chunk({"content": block["text"]}))
        elif kind == "thinking" and block.get("thinking"):
            out.append(self._chunk({"reasoning_content": block["thinking"]}))

    def _block_delta(self, event: dict[str, Any], out: list[dict[str, Any]]) -> None:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            out.append(self._chunk({"content": delta["text"]}))
        elif kind == "input_json_delta" and delta.get("partial_json"):
            index = self._tool_index.get(event.get("index", 0))
            if index is not None:
                call = {"index": index, "function": {"arguments": delta["partial_json"]}}
                out.append(self._chunk({"tool_calls": [call]}))
        elif kind == "thinking_delta" and delta.get("thinking"):
            out.append(self._chunk({"reasoning_content": delta["thinking"]}))

    def _envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model or "",
            "choices": choices,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return self._envelope([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
