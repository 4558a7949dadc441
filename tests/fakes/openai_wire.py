"""OpenAI chat completion, embedding, model and error bodies as the fakes send them (vLLM shares most).

Streams follow OpenAI's chunk sequence: a role chunk, one content (or tool-call argument) delta per piece, a
finish chunk, with `stream_options.include_usage` a final chunk with empty `choices` and the usage, then
`data: [DONE]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tests.fakes import faults, replies

CREATED = 1_700_000_000


def sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def usage(prompt: int, completion: int, fault: faults.Fault | None = None) -> dict[str, Any]:
    """OpenAI's usage; with a ``cached`` fault the cache counts are part of ``prompt_tokens``, as OpenAI has them
    (``cache_write_tokens`` only when some were written: routers such as OpenRouter report it, OpenAI does not)."""
    if fault is None or fault.kind != "cached":
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    prompt += fault.cache_read + fault.cache_write
    details: dict[str, int] = {"cached_tokens": fault.cache_read, "audio_tokens": 0}
    if fault.cache_write:
        details["cache_write_tokens"] = fault.cache_write
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


def _tool_calls(fault: faults.Fault, *, with_index: bool) -> list[dict[str, Any]]:
    call: dict[str, Any] = {
        "id": "call_fake_1",
        "type": "function",
        "function": {"name": fault.tool_name, "arguments": fault.tool_arguments},
    }
    return [{"index": 0, **call} if with_index else call]


def completion(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> dict[str, Any]:
    """The whole chat.completion; ``tool`` is the fault shaping the reply (a tool call, cache usage) or None."""
    prompt = replies.prompt_tokens(body)
    if tool is not None and tool.is_tool_call:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": _tool_calls(tool, with_index=False),
        }
        finish, completion_tokens = "tool_calls", replies.tool_call_tokens(tool.tool_name, tool.tool_arguments)
    else:
        text, cut = replies.reply(body)
        message = {"role": "assistant", "content": text, "refusal": None}
        finish, completion_tokens = ("length" if cut else "stop"), replies.words(text)
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage(prompt, completion_tokens, tool),
        "system_fingerprint": "fp_fake",
    }


def stream_events(body: Mapping[str, Any], reply_id: str, tool: faults.Fault | None) -> list[bytes]:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    head = {"id": reply_id, "object": "chat.completion.chunk", "created": CREATED, "model": body.get("model", "")}
    if include_usage:
        head["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**head, "choices": [choice]})

    if tool is not None and tool.is_tool_call:
        call = _tool_calls(tool, with_index=True)[0]
        first = {**call, "function": {"name": tool.tool_name, "arguments": ""}}
        events = [chunk({"role": "assistant", "content": None, "tool_calls": [first]})]
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in replies.json_pieces(tool.tool_arguments)
        ]
        events.append(chunk({}, "tool_calls"))
        completion_tokens = replies.tool_call_tokens(tool.tool_name, tool.tool_arguments)
    else:
        text, cut = replies.reply(body)
        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in replies.pieces(text)]
        events.append(chunk({}, "length" if cut else "stop"))
        completion_tokens = replies.words(text)
    if include_usage:
        events.append(
            sse({**head, "choices": [], "usage": usage(replies.prompt_tokens(body), completion_tokens, tool)})
        )
    events.append(DONE)
    return events


def embeddings(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input", "")
    texts = [raw] if isinstance(raw, str) else [str(item) for item in raw] if isinstance(raw, list) else []
    requested = body.get("dimensions")
    dimensions = requested if isinstance(requested, int) and requested > 0 else 8
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = replies.embedding(text, dimensions)
        encoded: object = replies.embedding_base64(vector) if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    prompt = sum(replies.words(text) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", ""),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


def models(ids: tuple[str, ...], owner: str = "openai") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": id_, "object": "model", "created": CREATED, "owned_by": owner} for id_ in ids],
    }


def mask(key: str) -> str:
    return f"{key[:3]}***{key[-2:]}" if len(key) > 6 else "***"


def error(fault: faults.Fault, *, presented_key: str, prompt: int) -> dict[str, Any]:
    """OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}."""
    if fault.error == "rate_limited":
        message, type_, code = (
            "Rate limit reached for requests per min (RPM). Try again later.",
            "requests",
            "rate_limit_exceeded",
        )
    elif fault.error == "unauthorized":
        shown = presented_key if fault.echo_key else mask(presented_key)
        message, type_, code = f"Incorrect API key provided: {shown}.", "invalid_request_error", "invalid_api_key"
    elif fault.error == "context_overflow":
        message = (
            f"This model's maximum context length is 128000 tokens. However, your messages resulted in "
            f"{prompt + 128000} tokens. Please reduce the length of the messages."
        )
        type_, code = "invalid_request_error", "context_length_exceeded"
    elif fault.error == "invalid":
        message, type_, code = "Unrecognized request argument supplied: max_tokens", "invalid_request_error", None
    elif fault.error == "overloaded":
        message, type_, code = "The engine is currently overloaded, please try again later.", "server_error", None
    else:
        message, type_, code = "The server had an error while processing the request.", "server_error", None
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}
