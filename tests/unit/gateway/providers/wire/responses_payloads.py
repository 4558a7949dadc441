"""Responses API requests as today's clients send them, written from the API reference and the ``openai`` SDK's
own types. Functions rather than constants, so each test gets its own copy to change.
"""

from __future__ import annotations

from typing import Any

from tests.unit.gateway.providers.wire import payloads


def shell_tool() -> dict[str, Any]:
    return {
        "type": "function",
        "name": "shell",
        "description": "Runs a shell command and returns its output.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "array", "items": {"type": "string"}}},
            "required": ["command"],
            "additionalProperties": False,
        },
    }


def agent_request() -> dict[str, Any]:
    """A coding agent's second turn: instructions, a developer message, an image, the reasoning item and the
    tool call of the first turn with its output, a freeform (custom) tool, effort and streaming."""
    return {
        "model": "gpt-alias",
        "instructions": "You are a coding agent running in a terminal.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "<permissions>workspace-write</permissions>"}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "List the files, then describe this screenshot."},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{payloads.PNG_B64}", "detail": "auto"},
                ],
            },
            {
                "type": "reasoning",
                "id": "rs_0123",
                "summary": [{"type": "summary_text", "text": "**Listing files** first."}],
                "encrypted_content": "gAAAAABo-opaque-state==",
            },
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_0123",
                "status": "completed",
                "content": [{"type": "output_text", "text": "I'll list the files.", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_0123",
                "call_id": "call_Xy12",
                "name": "shell",
                "arguments": '{"command":["ls","-la"]}',
            },
            {"type": "function_call_output", "call_id": "call_Xy12", "output": "README.md\nsrc\n"},
            {
                "type": "custom_tool_call",
                "call_id": "call_Pa7",
                "name": "apply_patch",
                "input": "*** Begin Patch\n*** End Patch\n",
            },
            {
                "type": "custom_tool_call_output",
                "call_id": "call_Pa7",
                "output": [{"type": "input_text", "text": "Done!"}],
            },
        ],
        "tools": [
            shell_tool(),
            {
                "type": "custom",
                "name": "apply_patch",
                "description": "Apply a patch to files.",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
            },
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-42",
        "text": {"verbosity": "low"},
        "max_output_tokens": 4096,
        "metadata": {"ticket": "T-1"},
    }


def structured_request() -> dict[str, Any]:
    """A plain SDK call: string input, a JSON schema for the output, sampling settings."""
    return {
        "model": "gpt-alias",
        "input": "Extract the event: Alice and Bob meet on Friday.",
        "text": {
            "format": {
                "type": "json_schema",
                "name": "calendar_event",
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "day": {"type": "string"}},
                    "required": ["name", "day"],
                    "additionalProperties": False,
                },
                "strict": True,
            }
        },
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "user-1234",
    }


def chat_reasoning_completion() -> dict[str, Any]:
    """A reasoning server's chat.completion (vLLM and others add ``reasoning_content``), cut by max_tokens."""
    return {
        "id": "chatcmpl-r1",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "qwen3-32b",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The answer is",
                    "reasoning_content": "The user wants a number. 6 times 7 is 42.",
                    "tool_calls": [],
                },
                "finish_reason": "length",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 16,
            "total_tokens": 46,
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    }
