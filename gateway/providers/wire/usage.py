"""Token usage from either API's responses and stream events, as one ``Usage`` value.

``input_tokens`` counts uncached input only, as Anthropic reports it; OpenAI's ``prompt_tokens`` includes its
cached tokens, so they are moved to ``cache_read_tokens``. A stream cut before the upstream's final count is
still charged: ``UsageAccumulator`` tallies the text produced and charges ``gateway.tokens.estimate`` of it (the
gateway's one, conservative, token estimate), flagged as estimated.

A reported count must be a whole JSON number from 0 to ``MAX_TOKENS``; absent or null means not reported. Anything
else (negative, fractional, a string, a boolean, ``3000000000``) raises ``MalformedUpstream``: the gateway neither
guesses what was meant nor lets the value reach a charge or a log row. The ceiling is ten times the largest
context window on offer, and below the request log's integer columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import tokens
from gateway.providers.wire import checks
from gateway.providers.wire.errors import MalformedUpstream

MAX_TOKENS = 100_000_000
FOLD_CHARS = 1 << 16  # produced text is kept as pieces up to this size, then tallied at once


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
    cached = _count(details, "cached_tokens", "prompt_tokens_details.") if isinstance(details, dict) else 0
    written = _count(details, "cache_write_tokens", "prompt_tokens_details.") if isinstance(details, dict) else 0
    prompt = _count(usage, "prompt_tokens")
    written = min(written, max(prompt - cached, 0))  # part of prompt_tokens, as cached_tokens is
    return Usage(
        max(prompt - cached - written, 0),
        _count(usage, "completion_tokens"),
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
        _count(usage, "input_tokens"),
        _count(usage, "output_tokens"),
        cache_read_tokens=_count(usage, "cache_read_input_tokens"),
        cache_write_tokens=_count(usage, "cache_creation_input_tokens"),
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
        self._produced = tokens.EMPTY  # tally of the text produced so far, but for...
        self._pieces: list[str] = []  # ...the latest pieces, tallied in one go (a tally per delta costs µs)
        self._pieces_size = 0

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
                    self._openai_delta(delta)
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
                self._add(name)
        elif kind == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, dict):
                for key in ("text", "partial_json", "thinking"):
                    value = delta.get(key)
                    if isinstance(value, str):
                        self._add(value)
        elif kind == "message_start":
            self._take_anthropic(event, start=True)
        elif kind == "message_delta":
            self._take_anthropic(event, start=False)

    def _take_anthropic(self, event: dict[str, Any], *, start: bool) -> None:
        holder = event.get("message") if start else event
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if not isinstance(usage, dict):
            return
        # message_delta repeats the input counts only in newer API versions: take them when present. Every count
        # is checked before any is taken, so a bad one leaves the best known usage as it was.
        counts = {name: _count(usage, name) for name in _ANTHROPIC_COUNTS if usage.get(name) is not None}
        if "input_tokens" in counts:
            self._input = counts["input_tokens"]
        if "cache_read_input_tokens" in counts:
            self._cache_read = counts["cache_read_input_tokens"]
        if "cache_creation_input_tokens" in counts:
            self._cache_write = counts["cache_creation_input_tokens"]
        if start:
            self._output_floor = counts.get("output_tokens", 0)
        elif "output_tokens" in counts:
            self._output = counts["output_tokens"]

    def _add(self, text: str) -> None:
        self._pieces.append(text)
        self._pieces_size += len(text)
        if self._pieces_size > FOLD_CHARS:
            self._fold()

    def _fold(self) -> None:
        if self._pieces:
            self._produced += tokens.count("".join(self._pieces))
            self._pieces, self._pieces_size = [], 0

    def _openai_delta(self, delta: dict[str, Any]) -> None:
        for key in ("content", "reasoning_content", "reasoning", "refusal"):
            value = delta.get(key)
            if isinstance(value, str):
                self._add(value)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    for key in ("name", "arguments"):
                        value = function.get(key)
                        if isinstance(value, str):
                            self._add(value)

    @property
    def produced(self) -> tokens.Tally:
        """The tally of the text produced so far."""
        self._fold()
        return self._produced

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
            output, estimated = max(self._output_floor, tokens.estimate(self.produced)), True
        return Usage(input_tokens, output, self._cache_read, self._cache_write, estimated)


_ANTHROPIC_COUNTS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _count(holder: dict[str, Any], name: str, at: str = "") -> int:
    """The count ``holder[name]`` (0 when absent or null); raises ``MalformedUpstream`` when it is no count."""
    value = holder.get(name)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    shown = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else checks.json_type(value)
    raise MalformedUpstream(
        f"the upstream reported usage {at}{name} = {shown[:40]}: not a whole number of tokens from 0 to {MAX_TOKENS}"
    )
