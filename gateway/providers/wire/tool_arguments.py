"""Tool-call arguments between OpenAI's JSON string and Anthropic's ``input`` object.

Models sometimes emit arguments that are not a JSON object (cut short, or a bare value). Anthropic accepts
only an object, so such a string travels wrapped as ``{"_unparsed_arguments": "<the string>"}`` - the model
and the client still see what was produced - and is unwrapped on the way back, so the round trip is exact.
"""

from __future__ import annotations

from typing import Any

import orjson

UNPARSED_KEY = "_unparsed_arguments"


def to_input(arguments: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {UNPARSED_KEY: arguments}
    return value if isinstance(value, dict) else {UNPARSED_KEY: arguments}


def to_arguments(tool_input: object) -> str:
    if isinstance(tool_input, dict) and len(tool_input) == 1:
        raw = tool_input.get(UNPARSED_KEY)
        if isinstance(raw, str):
            return raw
    return orjson.dumps(tool_input if tool_input is not None else {}).decode()
