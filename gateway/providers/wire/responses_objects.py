"""Response objects of the OpenAI Responses API, built by every translator into it: envelope, items, usage.

A Response echoes the request's settings (``tools``, ``tool_choice``, ``text``...) beside its output, so the
envelope is built from the validated request. Item ids are derived from the response id and the item's
output index (``msg_<id>_0``, ``fc_<id>_1``): unique within a response and across responses whose ids are,
with no randomness here. Usage in Responses counts cached and cache-written tokens inside ``input_tokens``.
"""

from __future__ import annotations

from typing import Any

from gateway.providers.wire import usage
from gateway.providers.wire.errors import MalformedUpstream

ITEM_PREFIXES = {"message": "msg", "function_call": "fc", "custom_tool_call": "ctc", "reasoning": "rs"}
ECHOED = (
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "temperature",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
)


def item_id(kind: str, response_id: str, output_index: int) -> str:
    """The id of the output item of ``kind`` at ``output_index`` of the response ``response_id``."""
    return f"{ITEM_PREFIXES.get(kind, 'item')}_{response_id.removeprefix('resp_')}_{output_index}"


def envelope(request: dict[str, Any], *, response_id: str, created_at: int, model: str, status: str) -> dict[str, Any]:
    """A Response with no output yet, echoing the request's settings as OpenAI does."""
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": bool(request.get("background")),
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": [_echo_tool(tool) for tool in request.get("tools") or ()],
        "metadata": request.get("metadata") or {},
        "usage": None,
    }
    for key in ECHOED:
        body[key] = request.get(key)
    return body


def usage_body(counted: usage.Usage, *, reasoning_tokens: int = 0) -> dict[str, Any]:
    """A Responses ``usage`` object: input includes cached and cache-written tokens, output its reasoning."""
    input_tokens = counted.total_input_tokens
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": counted.cache_read_tokens,
            "cache_write_tokens": counted.cache_write_tokens,
        },
        "output_tokens": counted.output_tokens,
        "output_tokens_details": {"reasoning_tokens": min(reasoning_tokens, counted.output_tokens)},
        "total_tokens": input_tokens + counted.output_tokens,
    }


def from_responses(body: dict[str, Any]) -> usage.Usage | None:
    """Usage of a Response (or of the ``response`` in a ``response.completed`` event); ``None`` if it has none."""
    holder = body.get("response") if isinstance(body.get("response"), dict) else body
    reported = holder.get("usage") if isinstance(holder, dict) else None
    if not isinstance(reported, dict):
        return None
    details = reported.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached = _count(details.get("cached_tokens"))
    written = _count(details.get("cache_write_tokens"))
    uncached = max(_count(reported.get("input_tokens")) - cached - written, 0)
    return usage.Usage(uncached, _count(reported.get("output_tokens")), cached, written)


def reasoning_tokens(chat_usage: object) -> int:
    """``completion_tokens_details.reasoning_tokens`` of a Chat Completions usage object, 0 when absent."""
    details = chat_usage.get("completion_tokens_details") if isinstance(chat_usage, dict) else None
    return _count(details.get("reasoning_tokens")) if isinstance(details, dict) else 0


def message_item(item_id: str, parts: list[dict[str, Any]], *, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": status, "content": parts}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, *, status: str = "completed", namespace: str | None = None
) -> dict[str, Any]:
    """A function call; ``namespace`` names the namespace tool it belongs to, if any."""
    item = {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }
    if namespace is not None:
        item["namespace"] = namespace
    return item


def custom_call_item(
    item_id: str, call_id: str, name: str, tool_input: str, *, namespace: str | None = None
) -> dict[str, Any]:
    item = {"type": "custom_tool_call", "id": item_id, "call_id": call_id, "name": name, "input": tool_input}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def reasoning_item(
    item_id: str,
    *,
    text: str | None = None,
    summary: tuple[str, ...] = (),
    encrypted_content: str | None = None,
    status: str = "completed",
) -> dict[str, Any]:
    """A reasoning item: raw reasoning text as ``content``, summaries as ``summary``, opaque state encrypted."""
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": s} for s in summary],
        "status": status,
    }
    if text is not None:
        item["content"] = [{"type": "reasoning_text", "text": text}]
    if encrypted_content is not None:
        item["encrypted_content"] = encrypted_content
    return item


def error_code(status: int, upstream_type: str | None = None) -> str:
    """The ``Response.error.code`` for an upstream failure: the few codes OpenAI defines for one."""
    if status == 429 or upstream_type in ("rate_limit_error", "rate_limit_exceeded"):
        return "rate_limit_exceeded"
    return "server_error"


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as a Response echoes it: a function tool with its optional fields spelled out."""
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    } | {key: value for key, value in tool.items() if key not in ("type", "name")}


def _count(value: object) -> int:
    """A reported count (0 when absent or null); ``MalformedUpstream`` when it is no whole count of tokens."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= usage.MAX_TOKENS:
        return value
    raise MalformedUpstream(f"the upstream reported a usage count of {str(value)[:40]!r}: not a whole number of tokens")
