"""Token usage from either API's responses and stream events, as one ``Usage`` value.

``input_tokens`` counts uncached input only, as Anthropic reports it; OpenAI's ``prompt_tokens`` includes its
cached tokens, so they are moved to ``cache_read_tokens``. A stream cut before the upstream's final count is
still charged: ``UsageAccumulator`` counts the characters produced and estimates one token per four
characters, rounded up (about right for English text and JSON under BPE tokenizers), flagged as estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False  # true when some count was not reported by the upstream but estimated

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def to_openai(self) -> dict[str, Any]:
        prompt = self.total_input_tokens
        body: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": self.output_tokens,
            "total_tokens": prompt + self.output_tokens,
        }
        if self.cache_read_tokens or self.cache_write_tokens:
            body["prompt_tokens_details"] = {"cached_tokens": self.cache_read_tokens}
        if self.cache_write_tokens:
            body["prompt_tokens_details"]["cache_write_tokens"] = self.cache_write_tokens
        return body

    def to_anthropic(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_write_tokens,
            "cache_read_input_tokens": self.cache_read_tokens,
        }


def estimate_tokens(chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def from_openai(body: dict[str, Any]) -> Usage | None:
    """Usage of a chat.completion or of the usage-bearing chunk of a stream; ``None`` when it has none.

    Tokens written to the cache, ``prompt_tokens_details.cache_write_tokens`` (a field of the ``openai`` SDK's
    types, reported by routers such as OpenRouter; part of ``prompt_tokens``, like ``cached_tokens``), are
    ``cache_write_tokens``; ``to_openai`` writes them back there.
    """
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    written = _count(details.get("cache_write_tokens")) if isinstance(details, dict) else 0
    prompt = _count(usage.get("prompt_tokens"))
    written = min(written, max(prompt - cached, 0))  # part of prompt_tokens, as cached_tokens is
    return Usage(
        max(prompt - cached - written, 0),
        _count(usage.get("completion_tokens")),
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


def from_anthropic(body: dict[str, Any]) -> Usage | None:
    """Usage of a Message, or of a ``message_start`` or ``message_delta`` event; ``None`` when it has none."""
    holder = body.get("message") if body.get("type") == "message_start" else body
    usage = holder.get("usage") if isinstance(holder, dict) else None
    if not isinstance(usage, dict):
        return None
    return Usage(
        _count(usage.get("input_tokens")),
        _count(usage.get("output_tokens")),
        cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
        cache_write_tokens=_count(usage.get("cache_creation_input_tokens")),
    )


class UsageAccumulator:
    """The best known usage of a stream at any moment, fed with the stream's parsed events in either format.

    ``input_estimate`` (the caller's pre-flight count of the prompt) stands in for the input when the upstream
    never reports it (an OpenAI stream cut before its final usage chunk).
    """

    def __init__(self, input_estimate: int = 0) -> None:
        self._input_estimate = input_estimate
        self._input: int | None = None
        self._cache_read = 0
        self._cache_write = 0
        self._output: int | None = None
        self._output_floor = 0  # Anthropic's message_start output count: a lower bound, not the total
        self._chars = 0

    def feed(self, event: dict[str, Any]) -> None:
        """Take one event: an Anthropic event (it has a ``type``) or an OpenAI chunk (it has ``choices``)."""
        if "choices" in event or event.get("object") == "chat.completion.chunk":
            self.feed_openai(event)
        else:
            self.feed_anthropic(event)

    def feed_openai(self, chunk: dict[str, Any]) -> None:
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict):
                    self._chars += _openai_delta_chars(delta)
        reported = from_openai(chunk)
        if reported is not None:
            self._input = reported.input_tokens
            self._cache_read = reported.cache_read_tokens
            self._cache_write = reported.cache_write_tokens
            self._output = reported.output_tokens

    def feed_anthropic(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "content_block_start":
            block = event.get("content_block")
            name = block.get("name") if isinstance(block, dict) else None
            if isinstance(name, str):
                self._chars += len(name)
        elif kind == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, dict):
                for key in ("text", "partial_json", "thinking"):
                    value = delta.get(key)
                    if isinstance(value, str):
                        self._chars += len(value)
        elif kind == "message_start":
            self._take_anthropic(event, start=True)
        elif kind == "message_delta":
            self._take_anthropic(event, start=False)

    def _take_anthropic(self, event: dict[str, Any], *, start: bool) -> None:
        holder = event.get("message") if start else event
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if not isinstance(usage, dict):
            return
        # message_delta repeats the input counts only in newer API versions: take them when present.
        if "input_tokens" in usage:
            self._input = _count(usage.get("input_tokens"))
        if "cache_read_input_tokens" in usage:
            self._cache_read = _count(usage.get("cache_read_input_tokens"))
        if "cache_creation_input_tokens" in usage:
            self._cache_write = _count(usage.get("cache_creation_input_tokens"))
        if start:
            self._output_floor = _count(usage.get("output_tokens"))
        elif "output_tokens" in usage:
            self._output = _count(usage.get("output_tokens"))

    @property
    def produced_chars(self) -> int:
        return self._chars

    @property
    def output_reported(self) -> bool:
        """Whether the upstream has reported the output count, so produced text need not be counted."""
        return self._output is not None

    def usage(self) -> Usage:
        estimated = False
        input_tokens = self._input
        if input_tokens is None:
            input_tokens, estimated = self._input_estimate, True
        output = self._output
        if output is None:
            output, estimated = max(self._output_floor, estimate_tokens(self._chars)), True
        return Usage(input_tokens, output, self._cache_read, self._cache_write, estimated)


def _openai_delta_chars(delta: dict[str, Any]) -> int:
    chars = 0
    for key in ("content", "reasoning_content", "reasoning", "refusal"):
        value = delta.get(key)
        if isinstance(value, str):
            chars += len(value)
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                for key in ("name", "arguments"):
                    value = function.get(key)
                    if isinstance(value, str):
                        chars += len(value)
    return chars


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
