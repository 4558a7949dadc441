"""Custom (free-form input) tools for upstreams that know only JSON-argument tools.

A Responses custom tool takes a string, not a JSON object. Anthropic and the Chat servers other than OpenAI have
only tools with an input schema, so such a tool goes up as one taking ``{"input": <string>}`` (its grammar, when it
has one, described in that field), and a call the model makes to it comes back as the string inside.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.providers.wire import tool_arguments

INPUT_FIELD = "input"  # the one field of the object a custom tool's free-form input travels in


def input_schema(fmt: object) -> dict[str, Any]:
    """The input schema of a custom tool: one string, with its grammar described when it has one."""
    description = "The tool's whole input, as free-form text (not JSON)."
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        description += f" It must match this {fmt.get('syntax') or ''} grammar:\n{fmt.get('definition') or ''}"
    return {
        "type": "object",
        "properties": {INPUT_FIELD: {"type": "string", "description": description}},
        "required": [INPUT_FIELD],
    }


def wrapped(tool_input: str) -> dict[str, str]:
    """The JSON object a custom call's input travels in."""
    return {INPUT_FIELD: tool_input}


def unwrapped(value: object) -> str:
    """A custom call's free-form input from the object the model produced (``{"input": ...}``)."""
    if isinstance(value, dict) and isinstance(value.get(INPUT_FIELD), str):
        return str(value[INPUT_FIELD])
    return tool_arguments.to_arguments(value)


def unwrapped_json(text: str) -> str:
    """The same, from the object's JSON text; text that is not a JSON object is taken as the input itself."""
    try:
        parsed: object = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return text
    return text if isinstance(parsed, str) else unwrapped(parsed)
