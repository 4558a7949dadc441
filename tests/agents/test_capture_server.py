"""The capture server's replies parse with the official SDKs, so a CLI failing against it is the CLI's news.

The openai SDK consumes its Responses stream (and the whole response), the anthropic SDK its Messages stream
(and the whole message), each through a tool round trip; a path it does not serve is recorded and answered 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx
import openai
import orjson
import pytest
import pytest_asyncio

from tests.agents import capture, messages_wire, responses_wire, script

pytestmark = pytest.mark.agents

ASK = "Please read note.txt"
NOTE = "NOTE-1234abcd"
SHELL_TOOL = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
}
BASH_TOOL = {"name": "Bash", "description": "Runs a command.", "input_schema": {"type": "object", "properties": {}}}


@pytest_asyncio.fixture
async def server() -> AsyncIterator[capture.CaptureServer]:
    server = capture.CaptureServer()
    await server.start()
    yield server
    await server.close()


async def test_the_openai_sdk_follows_a_responses_stream_through_a_tool_round_trip(
    server: capture.CaptureServer,
) -> None:
    async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="sk-test", max_retries=0) as sdk:
        async with sdk.responses.stream(model="m", input=ASK, tools=[SHELL_TOOL], store=False) as stream:  # type: ignore[list-item]
            types = [event.type async for event in stream]
            first = await stream.get_final_response()
        reasoning, call = first.output
        assert reasoning.type == "reasoning" and reasoning.encrypted_content == responses_wire.ENCRYPTED_REASONING
        assert call.type == "function_call" and orjson.loads(call.arguments) == {"cmd": script.COMMAND}
        assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
        assert "response.function_call_arguments.delta" in types

        follow = [
            {"role": "user", "content": ASK},
            {"type": "function_call_output", "call_id": call.call_id, "output": NOTE},
        ]
        second = await sdk.responses.create(model="m", input=follow, tools=[SHELL_TOOL])  # type: ignore[arg-type,list-item]
    assert second.output_text == script.final_text(NOTE)
    assert second.usage is not None and second.usage.total_tokens == 15
    assert [request["path"] for request in server.requests] == ["/v1/responses", "/v1/responses"]
    assert server.requests[0]["headers"]["authorization"] == "<redacted>"
    assert "sk-test" not in orjson.dumps(server.requests).decode()


async def test_the_anthropic_sdk_follows_a_messages_stream_through_a_tool_round_trip(
    server: capture.CaptureServer,
) -> None:
    async with anthropic.AsyncAnthropic(base_url=server.url, api_key="sk-ant-test", max_retries=0) as sdk:
        ask = [{"role": "user", "content": ASK}]
        async with sdk.messages.stream(model="m", max_tokens=100, messages=ask, tools=[BASH_TOOL]) as stream:  # type: ignore[arg-type,list-item]
            first = await stream.get_final_message()
        thinking, tool_use = first.content
        assert thinking.type == "thinking" and thinking.signature == messages_wire.SIGNATURE
        assert tool_use.type == "tool_use" and tool_use.input == {
            "command": script.COMMAND,
            "description": script.BASH_DESCRIPTION,
        }
        assert first.stop_reason == "tool_use"

        result = {"type": "tool_result", "tool_use_id": tool_use.id, "content": NOTE}
        follow = [*ask, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}]
        second = await sdk.messages.create(model="m", max_tokens=100, messages=follow, tools=[BASH_TOOL])  # type: ignore[arg-type,list-item]
    assert second.content[0].type == "text" and second.content[0].text == script.final_text(NOTE)
    assert "sk-ant-test" not in orjson.dumps(server.requests).decode()


async def test_an_unknown_path_is_recorded_and_answered_404(server: capture.CaptureServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/api/hello", params={"x": "1"})
    assert response.status_code == 404
    assert server.requests == [
        {
            "method": "GET",
            "path": "/api/hello",
            "query": {"x": "1"},
            "headers": server.requests[0]["headers"],
            "json": None,
        }
    ]
