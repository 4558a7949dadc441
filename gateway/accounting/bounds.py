"""The most a request can be billed, read from its body before any upstream sees it: what admission reserves.

A budget is exact only if this is a true upper bound, so nothing the client sends may shrink it. Input: every
byte of the body (no byte-level tokenizer makes a token of less than a byte), a per-message and a tool-prompt
allowance, and each input the provider fetches or decodes itself (image, audio, document, file id) at the Model's
``mediaInputTokens``; never more than the context window, which caps any prompt. Output: the larger of every
output limit the body gives (the upstream may honour either), else the Model's output limit or context window,
times the completions asked for (``n``, ``best_of``), plus rejected prediction tokens. Parameters that make the
provider charge what no Model price says (server tools that loop and bill per use) are refused by name. Pure.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from gateway.accounting import errors, pricing, values
from gateway.config import specs

PER_MESSAGE_TOKENS = 16
PER_REQUEST_TOKENS = 64
# The system prompt a provider adds when tools are offered: Anthropic documents up to ~500 tokens for tool use
# and 735 per computer-use tool; 1,024 per request with tools plus 1,024 per provider-defined tool covers both.
TOOLS_PROMPT_TOKENS = 1024
TYPED_TOOL_TOKENS = 1024
MAX_CHOICES = 128  # n or best_of beyond this is refused: nobody needs it, and it would reserve a fortune
# Content parts whose tokens come from what the provider fetches or decodes, not from the bytes sent.
MEDIA_PARTS = frozenset(
    {"image_url", "input_audio", "file", "image", "document", "container_upload", "input_image", "input_file"}
)
CLIENT_TOOL_TYPES = frozenset({"function", "custom", "namespace"})  # Responses groups functions in namespaces
# Anthropic's server tools run a loop inside one request (each turn bills its input again) and carry a fee per
# use (searches, fetches, container time) that no Model price expresses.
SERVER_TOOL = re.compile(r"^(web_search|web_fetch|code_execution|tool_search_tool_\w+|mcp_toolset)_\d{8}$")
REFUSED_FIELDS = {
    "mcp_servers": "mcp_servers is not served: remote MCP servers run tool loops billed beyond the Model's prices",
    "container": "container is not served: code-execution containers are billed by time, beyond the Model's prices",
    "web_search_options": "web_search_options is not served: searches are billed per use, beyond the Model's prices",
}


class Unpriced(errors.AccountingError):
    """A request parameter that would make the provider charge what the reservation cannot bound."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message  # a sentence that names what it refuses


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What the bound needs from a request body, read once for every candidate model."""

    body_bytes: int
    messages: int = 0
    media: int = 0  # inputs the provider fetches or decodes itself
    tools: int = 0
    typed_tools: int = 0  # provider-defined tools (computer, bash, text editor...): their own system prompts
    output: int | None = None  # the largest output limit the body gives; None: the Model's own
    choices: int = 1
    prediction_bytes: int = 0  # predicted output: rejected prediction tokens are billed as output
    embeddings: bool = False  # an embeddings request: no output


def _choices(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHOICES:
        raise Unpriced(name, f"{name} must be an integer from 1 to {MAX_CHOICES}")
    return value


def _limit(body: Mapping[str, Any]) -> int | None:
    """The largest output limit in the body: whichever of them the upstream honours, this covers it."""
    found = [body.get(name) for name in ("max_tokens", "max_completion_tokens", "max_output_tokens")]
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping):
        found.append(thinking.get("budget_tokens"))  # interleaved thinking may budget past max_tokens
    limits = [v for v in found if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return max(limits) if limits else None


def _parts(value: object) -> Iterator[Mapping[str, Any]]:
    """Every content part of a message or system field, nested ones (tool results holding images) too."""
    if isinstance(value, Mapping):
        yield value
        for key in ("content", "output"):
            inner = value.get(key)
            if isinstance(inner, list):
                yield from _parts(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _parts(item)


def _media(messages: Iterable[object]) -> int:
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        count += sum(1 for part in _parts(content) if part.get("type") in MEDIA_PARTS)
    return count


def _tools(tools: object) -> tuple[int, int]:
    """The number of tools and of provider-defined ones; raises ``Unpriced`` for a server tool."""
    if not isinstance(tools, list):
        return 0, 0
    typed = 0
    for index, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if not isinstance(kind, str) or kind in CLIENT_TOOL_TYPES:
            continue
        if SERVER_TOOL.match(kind):
            raise Unpriced(
                f"tools[{index}]",
                f"the server tool {kind!r} is not served: the provider bills it per use, beyond the Model's prices",
            )
        typed += 1
    return len(tools), typed


def shape(body: Mapping[str, Any]) -> Shape:
    """Read a Chat Completions, Messages or Embeddings body (or the Chat-shaped view of a Responses request);
    raises ``Unpriced`` naming a parameter whose charge cannot be bounded."""
    for name, why in REFUSED_FIELDS.items():
        if body.get(name) is not None:
            raise Unpriced(name, why)
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else []
    system = body.get("system")
    tools, typed = _tools(body.get("tools"))
    prediction = body.get("prediction")
    return Shape(
        body_bytes=len(orjson.dumps(body)),
        messages=len(messages),
        media=_media([*messages, {"content": system}]),
        tools=tools,
        typed_tools=typed,
        output=_limit(body),
        choices=max(_choices(body, "n"), _choices(body, "best_of")),
        prediction_bytes=len(orjson.dumps(prediction)) if prediction is not None else 0,
        embeddings="input" in body and "messages" not in body,
    )


def media_tokens(spec: specs.ModelSpec) -> int:
    return spec.media_input_tokens or spec.context_window


def input_tokens(s: Shape, spec: specs.ModelSpec) -> int:
    total = s.body_bytes + PER_REQUEST_TOKENS + PER_MESSAGE_TOKENS * s.messages + media_tokens(spec) * s.media
    if s.tools:
        total += TOOLS_PROMPT_TOKENS + TYPED_TOOL_TOKENS * s.typed_tools
    return min(total, spec.context_window)


def output_tokens(s: Shape, spec: specs.ModelSpec) -> int:
    if s.embeddings:
        return 0
    limit = s.output if s.output is not None else (spec.max_output_tokens or spec.context_window)
    return limit * s.choices + s.prediction_bytes


def of_model(s: Shape, spec: specs.ModelSpec) -> values.Estimate:
    """The bound for one candidate model: its input priced at the dearest input price (uncached, cache read or
    cache write: the provider decides which a prompt's tokens are billed at)."""
    tokens_in, tokens_out = input_tokens(s, spec), output_tokens(s, spec)
    return values.Estimate(pricing.Prices.of_spec(spec.pricing).bound(tokens_in, tokens_out), tokens_in + tokens_out)


def estimate(body: Mapping[str, Any], candidates: Sequence[specs.ModelSpec]) -> values.Estimate:
    """The bound over every candidate: whichever answers, its bill fits."""
    s = shape(body)
    cost, count = Decimal(0), 0
    for spec in candidates:
        one = of_model(s, spec)
        cost, count = max(cost, one.cost_usd), max(count, one.tokens)
    return values.Estimate(cost, count)
