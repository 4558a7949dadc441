from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.providers.wire import anthropic_messages, anthropic_to_openai, openai_chat, openai_to_anthropic
from tests.unit.gateway.providers.wire import payloads, strategies

texts = st.text(min_size=1, max_size=30)
tool_names = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)
images = st.sampled_from([f"data:image/png;base64,{payloads.PNG_B64}", "https://example.com/a.jpg"]).map(
    lambda url: {"type": "image_url", "image_url": {"url": url}}
)
user_contents = texts | st.lists(texts.map(lambda t: {"type": "text", "text": t}) | images, min_size=1, max_size=3)
tool_contents = texts | st.lists(texts.map(lambda t: {"type": "text", "text": t}), min_size=1, max_size=2)


@st.composite
def conversations(draw: st.DrawFn, names: list[str]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": t} for t in draw(st.lists(texts, max_size=2))]
    ids: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        messages.append({"role": "user", "content": draw(user_contents)})
        if not draw(st.booleans()):
            continue
        assistant: dict[str, Any] = {"role": "assistant", "content": draw(st.none() | texts)}
        if names and (assistant["content"] is None or draw(st.booleans())):
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                call_id = draw(st.text(min_size=1, max_size=12).filter(lambda i: i not in ids))
                ids.add(call_id)
                value, _parts = draw(strategies.object_with_fragments())
                arguments = draw(st.sampled_from([orjson.dumps(value).decode(), '{"cut": tr', "[1, 2]"]))
                function = {"name": draw(st.sampled_from(names)), "arguments": arguments}
                calls.append({"id": call_id, "type": "function", "function": function})
            assistant["tool_calls"] = calls
            messages.append(assistant)
            for call in calls:
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": draw(tool_contents)})
        elif assistant["content"] is not None:
            messages.append(assistant)
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": draw(texts)})
    return messages


@st.composite
def openai_requests(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(tool_names, max_size=3, unique=True))
    request: dict[str, Any] = {"model": "gpt-4o", "messages": draw(conversations(names))}
    if names:
        request["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": draw(texts),
                    "parameters": {"type": "object", "properties": {}},
                },
            }
            for name in names
        ]
        choices = st.sampled_from(["auto", "none", "required", {"type": "function", "function": {"name": names[0]}}])
        request["tool_choice"] = draw(st.none() | choices)
        request["parallel_tool_calls"] = draw(st.sampled_from([None, False]))
    request["max_tokens"] = draw(st.integers(1, 100_000))
    request["temperature"] = draw(st.none() | st.floats(0, 1))
    request["top_p"] = draw(st.none() | st.floats(0, 1))
    request["stop"] = draw(st.none() | st.lists(texts, min_size=1, max_size=4))
    request["stream"] = draw(st.booleans())
    request["user"] = draw(st.none() | texts)
    return {key: value for key, value in request.items() if value is not None}


def comparable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages with what the round trip may legitimately change evened out: JSON spelling of arguments."""
    out = []
    for original in messages:
        message = dict(original)
        if message["role"] == "assistant":
            message["content"] = message.get("content")
            for call in message.get("tool_calls", ()):
                raw = call["function"]["arguments"]
                try:
                    call["function"]["arguments"] = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    call["function"]["arguments"] = raw
        out.append(message)
    return out


@settings(max_examples=200)
@given(openai_requests())
def test_openai_to_anthropic_and_back_keeps_messages_tools_and_parameters(request: dict[str, Any]) -> None:
    openai_chat.validate_request(request)
    anthropic = openai_to_anthropic.request(request)
    anthropic_messages.validate_request(anthropic)
    back = anthropic_to_openai.request(anthropic)
    openai_chat.validate_request(back)

    assert comparable(back["messages"]) == comparable(orjson.loads(orjson.dumps(request["messages"])))
    assert back.get("tools") == request.get("tools")
    if "tools" in request:
        assert back.get("tool_choice", "auto") == request.get("tool_choice", "auto")
        if request.get("tool_choice") != "none":
            assert back.get("parallel_tool_calls") == request.get("parallel_tool_calls")
    for key in ("max_tokens", "temperature", "top_p", "stop", "user"):
        assert back.get(key) == request.get(key)
    assert bool(back.get("stream")) == request["stream"]
