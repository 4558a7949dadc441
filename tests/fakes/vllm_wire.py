"""vLLM's departures from the OpenAI wire format: its flat error body, its model cards (max_model_len), and
request validation that knows only function tools."""

from __future__ import annotations

from typing import Any

from tests.fakes import faults, openai_wire

MAX_MODEL_LEN = 4096


def models(ids: tuple[str, ...]) -> dict[str, Any]:
    listing = openai_wire.models(ids, owner="vllm")
    for card in listing["data"]:
        card.update(root=card["id"], parent=None, max_model_len=MAX_MODEL_LEN)
    return listing


def error(fault: faults.Fault, *, presented_key: str, prompt: int) -> dict[str, Any]:
    """{"object": "error", "message", "type", "param", "code"} as vLLM's OpenAI server sends it.

    A wrong key is the exception: vLLM's `--api-key` check answers {"error": "Unauthorized"}.
    """
    if fault.error == "unauthorized":
        return {"error": "Unauthorized"}
    if fault.error == "context_overflow":
        requested = prompt + MAX_MODEL_LEN
        message = (
            f"This model's maximum context length is {MAX_MODEL_LEN} tokens. However, you requested "
            f"{requested} tokens ({requested} in the messages, 0 in the completion). "
            "Please reduce the length of the messages or completion."
        )
        type_ = "BadRequestError"
    elif fault.error == "rate_limited":
        message, type_ = "Too many requests", "TooManyRequests"
    else:
        message, type_ = "Internal server error", "InternalServerError"
    return {"object": "error", "message": message, "type": type_, "param": None, "code": fault.status}


def refused_tools(body: Any) -> dict[str, Any] | None:
    """The 400 vLLM's request validation answers for a tool that is not a function tool (OpenAI's custom tools)."""
    tools = body.get("tools") if isinstance(body, dict) else None
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            message = (
                f"1 validation error for ChatCompletionRequest\ntools.{i}.type\n"
                f"  Input should be 'function' [type=literal_error, input_value={kind!r}, input_type=str]"
            )
            return {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}
    return None
