"""Realistic bodies and streams of both APIs, written from their public reference documentation.

Functions rather than constants, so each test gets its own copy to change.
"""

from __future__ import annotations

from typing import Any

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def openai_tool_request() -> dict[str, Any]:
    """A multi-turn OpenAI request: system prompt, image, two parallel tool calls and their results."""
    return {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "What is the weather in Paris and Tokyo? Also, what is in this image?",
                    },
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_def456",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Tokyo"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc123", "content": "18C, cloudy"},
            {"role": "tool", "tool_call_id": "call_def456", "content": "24C, sunny"},
            {"role": "user", "content": "Thanks! Which one is warmer?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get the current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        "tool_choice": "auto",
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 512,
        "stop": ["\n\nHuman:"],
        "user": "user-1234",
        "seed": 42,
        "presence_penalty": 0.5,
        "logprobs": False,
    }


def anthropic_tool_request() -> dict[str, Any]:
    """The same conversation as Anthropic's Messages API takes it."""
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a weather assistant.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is the weather in Paris and Tokyo?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "I'll check both cities."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01B19q90qw90lq917835lq8",
                        "name": "get_weather",
                        "input": {"city": "Tokyo"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                        "content": "18C, cloudy",
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B19q90qw90lq917835lq8",
                        "content": [{"type": "text", "text": "24C, sunny"}],
                        "is_error": False,
                    },
                    {"type": "text", "text": "Which one is warmer?"},
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ],
        "tool_choice": {"type": "auto"},
        "temperature": 0.5,
        "top_k": 40,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-1234"},
        "stream": False,
    }


def anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "text", "text": "Let me look up both cities."},
            {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 472,
            "output_tokens": 91,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 100,
        },
    }


def openai_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking the weather.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_12345xyz",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 82,
            "completion_tokens": 17,
            "total_tokens": 99,
            "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


def anthropic_stream() -> list[dict[str, Any]]:
    """An Anthropic stream with text and two tool_use blocks, as the SSE data objects arrive."""
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 472, "output_tokens": 2, "cache_read_input_tokens": 0},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay, let me"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " check both."}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Pa'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": 'ris"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01ABCdef234GHIjkl567MNOp",
                "name": "get_time",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"tz": '},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '"Asia/Tokyo"}'},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
        {"type": "message_stop"},
    ]


def openai_stream() -> list[dict[str, Any]]:
    """An OpenAI stream with text and two tool calls, then the usage chunk include_usage asks for."""
    base = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return base | {"choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def call(index: int, **fields: Any) -> dict[str, Any]:
        return {"tool_calls": [{"index": index, **fields}]}

    return [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"content": "Let me "}),
        chunk({"content": "check."}),
        chunk(
            call(
                0,
                id="call_DdmO9pD3xa9XTPNJ32zg2hcA",
                type="function",
                function={"name": "get_weather", "arguments": ""},
            )
        ),
        chunk(call(0, function={"arguments": '{"ci'})),
        chunk(call(0, function={"arguments": 'ty": "Paris"}'})),
        chunk(call(1, id="call_ABC", type="function", function={"name": "get_time", "arguments": ""})),
        chunk(call(1, function={"arguments": '{"tz": "Asia/Tokyo"}'})),
        chunk({}, "tool_calls"),
        base | {"choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}},
    ]
