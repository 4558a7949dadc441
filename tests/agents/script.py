"""What the capture server answers: ask for one harmless tool call, then report what the tool printed.

The agent is asked to read a note; the model turn that follows such a request calls the CLI's shell tool with
`cat note.txt`, and once the tool's output comes back the final answer quotes the token found in that output.
So the final text a CLI prints proves the round trip: the tool ran and its output reached the model. A user
message that does not mention the note (a follow-up turn, a CLI's side request) gets a plain text answer.
Pure functions of the request body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

NOTE_FILE = "note.txt"
COMMAND = f"cat {NOTE_FILE}"
TOKEN = re.compile(r"NOTE-[0-9a-f]{8,}")
PLAIN_TEXT = "Nothing to do here."
BASH_DESCRIPTION = "Print the note"


def final_text(token: str | None) -> str:
    return f"The note says {token}." if token else "The tool output held no note."


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]


Reply = Text | ToolCall

# Codex's shell tool has had several names and argument shapes; the first one offered wins.
_CODEX_SHELL_TOOLS: dict[str, Mapping[str, Any]] = {
    "exec_command": {"cmd": COMMAND},
    "shell_command": {"command": COMMAND},
    "shell": {"command": ["bash", "-lc", COMMAND]},
}


def _token_in(value: Any) -> str | None:
    found = TOKEN.search(value if isinstance(value, str) else orjson.dumps(value).decode())
    return found.group(0) if found else None


def _texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        yield from (part["text"] for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str))


def _offered(body: Mapping[str, Any]) -> set[Any]:
    return {tool.get("name") for tool in body.get("tools") or () if isinstance(tool, Mapping)}


def codex_reply(body: Mapping[str, Any]) -> Reply:
    """A Responses request: answer a tool's output, else call the shell tool if the user asked about the note."""
    given = body.get("input")
    if isinstance(given, str):  # the shorthand for one user message
        given = [{"type": "message", "role": "user", "content": given}]
    items = [item for item in given or () if isinstance(item, Mapping)]
    if items and items[-1].get("type") == "function_call_output":
        return Text(final_text(_token_in(items[-1].get("output"))))
    users = [item for item in items if item.get("type", "message") == "message" and item.get("role") == "user"]
    asked = bool(users) and any(NOTE_FILE in text for text in _texts(users[-1].get("content")))
    for name, arguments in _CODEX_SHELL_TOOLS.items():
        if asked and name in _offered(body):
            return ToolCall(name, arguments)
    return Text(PLAIN_TEXT)


def _shell_call(offered: set[Any]) -> ToolCall | None:
    """A call of the first shell tool offered: Claude Code's Bash, else one of Codex's."""
    if "Bash" in offered:
        return ToolCall("Bash", {"command": COMMAND, "description": BASH_DESCRIPTION})
    for name, arguments in _CODEX_SHELL_TOOLS.items():
        if name in offered:
            return ToolCall(name, arguments)
    return None


def claude_reply(body: Mapping[str, Any]) -> Reply:
    """A Messages request: answer a tool_result, else call the shell if the last user message asks about the note.

    Claude Code places `system`-role messages after the user's, so the last *user* message is the one read. Behind
    a gateway the Messages request may come from Codex, whose shell tool is then the one called.
    """
    users = [m for m in body.get("messages") or () if isinstance(m, Mapping) and m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    blocks = [block for block in content if isinstance(block, Mapping)] if isinstance(content, list) else []
    results = [block for block in blocks if block.get("type") == "tool_result"]
    if results:
        return Text(final_text(_token_in(results[-1].get("content"))))
    call = _shell_call(_offered(body))
    if call is not None and any(NOTE_FILE in text for text in _texts(content)):
        return call
    return Text(PLAIN_TEXT)


def chat_reply(body: Mapping[str, Any]) -> Reply:
    """A Chat Completions request (a CLI's request translated by a gateway): the same rules, read from messages."""
    messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
    if messages and messages[-1].get("role") == "tool":
        return Text(final_text(_token_in(messages[-1].get("content"))))
    users = [m for m in messages if m.get("role") == "user"]
    offered = {
        (tool.get("function") or {}).get("name") for tool in body.get("tools") or () if isinstance(tool, Mapping)
    }
    call = _shell_call(offered)
    if call is not None and users and any(NOTE_FILE in text for text in _texts(users[-1].get("content"))):
        return call
    return Text(PLAIN_TEXT)
