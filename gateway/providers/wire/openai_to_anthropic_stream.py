"""An OpenAI chat.completion.chunk stream, chunk by chunk, as Anthropic Messages stream events.

Anthropic sends one content block at a time; OpenAI may interleave the argument fragments of parallel tool
calls. So a tool block is closed when the next tool call begins only if its arguments already parse as JSON
(the usual, sequential case, which then looks exactly like Anthropic's own stream); otherwise it stays open
and fragments go to their own block index until the choice finishes. ``message_delta`` and ``message_stop``
wait for ``finish()``, because OpenAI reports usage after the finish reason; a stream that never gave one
still ends with a whole message, stop reason ``max_tokens`` (cut short) and the best known usage.
Reasoning deltas (``reasoning_content``) are not forwarded: a thinking block needs Anthropic's signature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.providers.wire import error_bodies, openai_to_anthropic, tool_ids, usage


@dataclass(slots=True)
class _Tool:
    block: int
    open: bool = True
    arguments: list[str] = field(default_factory=list)

    def complete(self) -> bool:
        try:
            return isinstance(orjson.loads("".join(self.arguments)), dict)
        except orjson.JSONDecodeError:
            return False


class OpenAIToAnthropicStream:
    def __init__(self, *, model: str | None = None, message_id: str | None = None, input_tokens: int = 0) -> None:
        """``input_tokens`` is the caller's count of the prompt, shown until the upstream reports its own."""
        self._model = model
        self._id = message_id
        self._usage = usage.UsageAccumulator(input_tokens)
        self._started = False
        self._blocks = 0  # content blocks started so far
        self._text_block: int | None = None  # the open text block
        self._tools: dict[int, _Tool] = {}  # OpenAI tool_calls index -> its block
        self._stop_reason: str | None = None
        self._closed = False
        self._dropped_fragments = 0

    @property
    def ended_cleanly(self) -> bool:
        """Whether the upstream gave a finish reason (the answer is whole) and no error."""
        return self._closed and self._stop_reason is not None

    @property
    def dropped_fragments(self) -> int:
        """Argument fragments that came for a tool block already closed by later text (unsendable)."""
        return self._dropped_fragments

    @property
    def usage(self) -> usage.Usage:
        return self._usage.usage()

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._closed:
            return []
        out: list[dict[str, Any]] = []
        error = chunk.get("error")
        if error is not None and not chunk.get("choices"):
            read = error_bodies.read(chunk)
            status = error_bodies.OPENAI_STATUSES.get(read.type or "", 500)
            out.append(error_bodies.anthropic_body(status, read.message))
            self._stop_reason = None
            self._closed = True
            return out
        self._usage.feed_openai(chunk)
        self._start(chunk, out)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self._text(content, out)
            for call in delta.get("tool_calls") or ():
                self._tool(call, out)
            reason = choice.get("finish_reason")
            if reason:
                self._stop_reason = openai_to_anthropic.stop_reason(reason)
                self._close_blocks(out)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Close the message at the end of the upstream stream; nothing when it was already closed."""
        if self._closed:
            return []
        out: list[dict[str, Any]] = []
        self._start({}, out)
        self._close_blocks(out)
        counted = self._usage.usage()
        delta_usage = {
            "input_tokens": counted.input_tokens,
            "output_tokens": counted.output_tokens,
            "cache_read_input_tokens": counted.cache_read_tokens,
            "cache_creation_input_tokens": counted.cache_write_tokens,
        }
        out.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop_reason or "max_tokens", "stop_sequence": None},
                "usage": delta_usage,
            }
        )
        out.append({"type": "message_stop"})
        self._closed = True
        return out

    def _start(self, chunk: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self._started:
            return
        self._started = True
        self._id = self._id or chunk.get("id") or "msg_unknown"
        self._model = self._model or chunk.get("model") or ""
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # the cache counts come with OpenAI's final usage chunk, in message_delta; Anthropic's own
            # message_start always has them, and clients such as Claude Code read them there
            "usage": {
                "input_tokens": self._usage.usage().input_tokens,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        out.append({"type": "message_start", "message": message})

    def _text(self, text: str, out: list[dict[str, Any]]) -> None:
        if self._text_block is None:
            self._close_blocks(out)
            self._text_block = self._open_block({"type": "text", "text": ""}, out)
        out.append(
            {
                "type": "content_block_delta",
                "index": self._text_block,
                "delta": {"type": "text_delta", "text": text},
            }
        )

    def _tool(self, call: dict[str, Any], out: list[dict[str, Any]]) -> None:
        index = call.get("index", 0)
        function = call.get("function") or {}
        tool = self._tools.get(index)
        if tool is None:
            self._close_text(out)
            for other in self._tools.values():
                if other.open and other.complete():
                    self._close_tool(other, out)
            call_id = call.get("id")
            block_id = (
                tool_ids.to_anthropic(call_id) if call_id else f"toolu_{tool_ids.sanitize(self._id or '')}_{index}"
            )
            start: dict[str, Any] = {
                "type": "tool_use",
                "id": block_id,
                "name": function.get("name") or "",
                "input": {},
            }
            tool = self._tools[index] = _Tool(self._open_block(start, out))
        fragment = function.get("arguments")
        if not fragment:
            return
        if not tool.open:
            self._dropped_fragments += 1
            return
        tool.arguments.append(fragment)
        delta = {"type": "input_json_delta", "partial_json": fragment}
        out.append({"type": "content_block_delta", "index": tool.block, "delta": delta})

    def _open_block(self, block: dict[str, Any], out: list[dict[str, Any]]) -> int:
        index = self._blocks
        self._blocks += 1
        out.append({"type": "content_block_start", "index": index, "content_block": block})
        return index

    def _close_text(self, out: list[dict[str, Any]]) -> None:
        if self._text_block is not None:
            out.append({"type": "content_block_stop", "index": self._text_block})
            self._text_block = None

    def _close_tool(self, tool: _Tool, out: list[dict[str, Any]]) -> None:
        out.append({"type": "content_block_stop", "index": tool.block})
        tool.open = False

    def _close_blocks(self, out: list[dict[str, Any]]) -> None:
        self._close_text(out)
        for tool in self._tools.values():
            if tool.open:
                self._close_tool(tool, out)
