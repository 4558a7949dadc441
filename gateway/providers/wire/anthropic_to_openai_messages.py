"""The conversation of an Anthropic Messages request as Chat Completions messages.

Chat Completions needs the tool messages right after the assistant message whose calls they answer; Anthropic
is looser: a turn may span consecutive messages, a ``system`` message may stand between a ``tool_use`` and its
``tool_result``, and results come first in a user turn by rule but may sit in its second message. So consecutive
assistant messages merge into one, tool messages go straight after it, and any system or user text that came
between is held back until every call is answered; otherwise everything stays where it stood, system messages
included (the conversation may end with one). Thinking blocks are dropped: Chat has no field to send them back.
"""

from __future__ import annotations

from typing import Any

from gateway.providers.wire import media, tool_arguments, tool_ids
from gateway.providers.wire.errors import Untranslatable

BILLING_HEADER_PREFIX = "x-anthropic-billing-header:"
DROPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The Chat messages for a validated request: its ``system`` prompt, then the conversation in order."""
    conversation = _Conversation(_system_prompt(body.get("system")))
    source = body["messages"]
    last_user = max((i for i, m in enumerate(source) if m["role"] == "user"), default=-1)
    for i, message in enumerate(source):
        at = f"messages[{i}]"
        role = message["role"]
        if role == "system":
            # clear_at: next_user_message shows the message only until a later user message exists
            if message.get("content") is not None and not (
                message.get("clear_at") == "next_user_message" and i < last_user
            ):
                conversation.add(_system_message(message["content"], f"{at}.content"))
        elif role == "user":
            tool_messages, rest = _user(message["content"], f"{at}.content")
            conversation.answer(tool_messages)
            if rest is not None:
                conversation.add(rest)
        else:
            texts, calls = _assistant(message["content"], f"{at}.content")
            conversation.assistant(texts, calls)
    return conversation.finish()


class _Conversation:
    def __init__(self, first: list[dict[str, Any]]) -> None:
        self._out = first
        self._assistant: dict[str, Any] | None = None  # the open assistant message, to merge the next into
        self._pending: set[str] = set()  # ids of its calls still waiting for their tool message
        self._held: list[dict[str, Any]] = []  # messages that came while calls were pending

    def add(self, message: dict[str, Any]) -> None:
        if self._pending:
            self._held.append(message)
        else:
            self._out.append(message)
            self._assistant = None

    def assistant(self, texts: list[str], calls: list[dict[str, Any]]) -> None:
        if not texts and not calls:
            return  # nothing Chat can carry (only thinking)
        if self._assistant is None:
            self._assistant = {"role": "assistant", "content": None}
            self._out.append(self._assistant)
        if texts:
            self._assistant["content"] = (self._assistant["content"] or "") + "".join(texts)
        if calls:
            self._assistant.setdefault("tool_calls", []).extend(calls)
            self._pending.update(call["id"] for call in calls)

    def answer(self, tool_messages: list[dict[str, Any]]) -> None:
        if not tool_messages:
            return
        self._out.extend(tool_messages)
        self._assistant = None
        self._pending.difference_update(m["tool_call_id"] for m in tool_messages)
        if not self._pending:
            self._out.extend(self._held)
            self._held.clear()

    def finish(self) -> list[dict[str, Any]]:
        if self._pending:  # only a final assistant prefill may leave a tool_use unanswered
            raise Untranslatable("messages", "a final assistant tool_use without its result has no Chat equivalent")
        return self._out


def _system_prompt(system: object) -> list[dict[str, Any]]:
    """The top-level ``system``: one system message per text block, without Claude Code's billing header,
    which is meant for Anthropic only."""
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if isinstance(system, list):
        return [
            {"role": "system", "content": block["text"]}
            for block in system
            if block["text"] and not block["text"].startswith(BILLING_HEADER_PREFIX)
        ]
    return []


def _system_message(content: str | list[dict[str, Any]], at: str) -> dict[str, Any]:
    """A ``system`` message in place; one text block is sent as a plain string, as the same message is when a
    client re-sends it later, so the rendered prompt (and the upstream's prefix cache) does not change."""
    if isinstance(content, str):
        return {"role": "system", "content": content}
    parts = []
    for j, block in enumerate(content):
        if block["type"] != "text":
            raise Untranslatable(
                f"{at}[{j}].type", f"a {block['type']!r} block in a system message has no Chat equivalent"
            )
        parts.append({"type": "text", "text": block["text"]})
    return {"role": "system", "content": parts[0]["text"] if len(parts) == 1 else parts}


def _user(content: str | list[dict[str, Any]], at: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The tool messages of a user message, and a user message with the rest of it (``None`` if nothing)."""
    if isinstance(content, str):
        return [], {"role": "user", "content": content}
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = block["type"]
        if kind == "tool_result":
            tool_messages.append(
                {
                    "role": "tool",
                    "tool_call_id": tool_ids.from_anthropic(block["tool_use_id"]),
                    "content": _tool_result_content(block.get("content"), f"{at}[{j}].content"),
                }
            )
        elif kind == "text":
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block["source"], f"{at}[{j}].source"))
        elif kind == "document":
            parts.append(_document(block, f"{at}[{j}].source"))
        else:
            raise Untranslatable(f"{at}[{j}].type", f"a {kind!r} block has no Chat Completions equivalent")
    return tool_messages, {"role": "user", "content": parts} if parts else None


def _assistant(content: str | list[dict[str, Any]], at: str) -> tuple[list[str], list[dict[str, Any]]]:
    if isinstance(content, str):
        return [content] if content else [], []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(tool_call(block))
        elif kind not in DROPPED_BLOCKS:  # server tool use and results ran at Anthropic
            raise Untranslatable(f"{at}[{j}].type", f"a {kind!r} block has no Chat Completions equivalent")
    return texts, calls


def tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """A ``tool_use`` block as a Chat tool call (also used for answers, by ``anthropic_to_openai``)."""
    return {
        "id": tool_ids.from_anthropic(str(block.get("id") or "")),
        "type": "function",
        "function": {
            "name": block.get("name") or "",
            "arguments": tool_arguments.to_arguments(block.get("input")),
        },
    }


def _image(source: dict[str, Any], at: str) -> dict[str, Any]:
    kind = source.get("type")
    if kind == "base64":
        return {
            "type": "image_url",
            "image_url": {"url": media.data_url(source["media_type"], source["data"])},
        }
    if kind == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise Untranslatable(f"{at}.type", f"a {kind!r} image source has no OpenAI equivalent")


def _document(block: dict[str, Any], at: str) -> dict[str, Any]:
    source = block["source"]
    if source.get("type") != "base64" or source.get("media_type") != "application/pdf":
        raise Untranslatable(at, "only base64 PDF documents are translated")
    file = {
        "file_data": media.data_url("application/pdf", source["data"]),
        "filename": block.get("title") or "document.pdf",
    }
    return {"type": "file", "file": file}


def _tool_result_content(content: object, at: str) -> str | list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for j, block in enumerate(content if isinstance(content, list) else ()):
        if block.get("type") != "text":
            raise Untranslatable(f"{at}[{j}].type", "OpenAI tool messages carry text only")
        parts.append({"type": "text", "text": block["text"]})
    return parts or ""
