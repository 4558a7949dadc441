"""The OpenAI Responses stream protocol, written from higher-level steps: "text arrived", "a call started".

Stream translators into the Responses API call these steps; ``ResponsesEventWriter`` turns them into the
exact event sequence OpenAI sends: ``response.created`` and ``response.in_progress``, then per output item
``output_item.added``, its content part or summary part opened, deltas, the part's ``.done`` events and
``output_item.done`` with the whole item, and finally ``response.completed`` (or ``.incomplete``, or
``error`` then ``response.failed``) carrying every item and the usage. Every event gets the next
``sequence_number``. Items of one kind follow each other; calls may stay open side by side (parallel calls
interleave their argument fragments), each with its own ``output_index``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

import orjson

from gateway.providers.wire import responses_objects, tool_namespaces, usage

Out = list[dict[str, Any]]


@dataclass(slots=True)
class _Item:
    kind: str  # "reasoning", "message", "function_call", "custom_tool_call"
    index: int
    id: str
    parts: list[list[str]] = field(default_factory=list)  # text pieces of each content or summary part
    part_kinds: list[str] = field(default_factory=list)  # "output_text", "refusal", "reasoning_text", "summary"
    call_id: str = ""
    name: str = ""
    namespace: str | None = None
    encrypted_content: str | None = None
    closed_parts: int = 0  # parts whose .done events were sent
    status: str | None = None  # set once the item is done

    def text(self, part: int) -> str:
        return "".join(self.parts[part])

    def body(self, status: str) -> dict[str, Any]:
        if self.kind == "message":
            parts = [
                responses_objects.text_part(self.text(j))
                if kind == "output_text"
                else responses_objects.refusal_part(self.text(j))
                for j, kind in enumerate(self.part_kinds)
            ]
            return responses_objects.message_item(self.id, parts, status=status)
        if self.kind == "reasoning":
            raw = [self.text(j) for j, kind in enumerate(self.part_kinds) if kind == "reasoning_text"]
            return responses_objects.reasoning_item(
                self.id,
                text="".join(raw) if raw else None,
                summary=tuple(self.text(j) for j, kind in enumerate(self.part_kinds) if kind == "summary"),
                encrypted_content=self.encrypted_content,
                status=status,
            )
        arguments = self.text(0) if self.parts else ""
        if self.kind == "custom_tool_call":
            return responses_objects.custom_call_item(
                self.id, self.call_id, self.name, arguments, namespace=self.namespace
            )
        return responses_objects.function_call_item(
            self.id, self.call_id, self.name, arguments, status=status, namespace=self.namespace
        )


class ResponsesEventWriter:
    def __init__(self, request: dict[str, Any], *, response_id: str, created_at: int, model: str) -> None:
        """``request`` is the validated Responses request, echoed in every ``response`` object sent."""
        self._request = request
        self._namespaced = tool_namespaces.names(request)
        self._id = response_id
        self._created_at = created_at
        self.model = model
        self._sequence = 0
        self._items: list[_Item] = []
        self._reasoning: _Item | None = None  # the open reasoning item
        self._message: _Item | None = None  # the open message item
        self._calls: dict[object, _Item] = {}  # the open calls, by the caller's key
        self._started = False
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether the final event (completed, incomplete or failed) was written."""
        return self._ended

    def output(self, status: str = "completed") -> list[dict[str, Any]]:
        """Every item so far, whole; items still open shown with ``status``."""
        return [item.body(item.status or status) for item in self._items]

    def start(self, out: Out) -> None:
        if self._started:
            return
        self._started = True
        response = self._response("in_progress")
        self._emit(out, "response.created", response=response)
        self._emit(out, "response.in_progress", response=response)

    def open_reasoning(self, out: Out) -> None:
        """Start a new reasoning item, ending any open message or reasoning item first."""
        self.start(out)
        self._close_message(out)
        self.close_reasoning(out)
        self._reasoning = self._add(out, "reasoning")

    def reasoning(self, out: Out, text: str, *, summary: bool = False) -> None:
        """Reasoning text: raw (``reasoning_text`` content) or, with ``summary``, a summary part."""
        if self._reasoning is None:
            self.open_reasoning(out)
        item = self._reasoning
        assert item is not None
        kind = "summary" if summary else "reasoning_text"
        if not item.part_kinds or item.part_kinds[-1] != kind:
            self._close_part(out, item)
            self._open_part(out, item, kind)
        item.parts[-1].append(text)
        part = len(item.parts) - 1
        if summary:
            self._emit(out, "response.reasoning_summary_text.delta", **self._at(item), summary_index=part, delta=text)
        else:
            self._emit(out, "response.reasoning_text.delta", **self._at(item), content_index=part, delta=text)

    def close_reasoning(self, out: Out, *, encrypted_content: str | None = None) -> None:
        """End the open reasoning item; ``encrypted_content`` is opaque state the client sends back."""
        item = self._reasoning
        if item is None:
            return
        item.encrypted_content = encrypted_content
        self._reasoning = None
        self._close_part(out, item)
        self._done(out, item, "completed")

    def text(self, out: Out, text: str) -> None:
        self._content(out, "output_text", text)

    def refusal(self, out: Out, text: str) -> None:
        self._content(out, "refusal", text)

    def close_message(self, out: Out) -> None:
        self._close_message(out)

    def call(self, out: Out, key: object, *, call_id: str, name: str, custom: bool = False) -> None:
        """Open a tool call, known by ``key`` to the caller; an open message or reasoning item ends first.

        ``name`` is the name the upstream called: a namespaced tool's joined name is split (``tool_namespaces``).
        """
        self.start(out)
        self._close_message(out)
        self.close_reasoning(out)
        kind = "custom_tool_call" if custom else "function_call"
        namespace, name = self._namespaced.get(name, (None, name))
        item = self._add(out, kind, call_id=call_id, name=name, namespace=namespace)
        item.parts.append([])
        self._calls[key] = item

    def has_call(self, key: object) -> bool:
        return key in self._calls

    def open_calls(self) -> dict[object, str]:
        """The arguments so far of each open call, by key."""
        return {key: item.text(0) for key, item in self._calls.items()}

    def arguments(self, out: Out, key: object, fragment: str) -> None:
        item = self._calls[key]
        item.parts[0].append(fragment)
        event = "custom_tool_call_input" if item.kind == "custom_tool_call" else "function_call_arguments"
        self._emit(out, f"response.{event}.delta", **self._at(item), delta=fragment)

    def close_call(self, out: Out, key: object) -> None:
        item = self._calls.pop(key, None)
        if item is None:
            return
        if item.kind == "custom_tool_call":
            self._emit(out, "response.custom_tool_call_input.done", **self._at(item), input=item.text(0))
        else:
            self._emit(out, "response.function_call_arguments.done", **self._at(item), arguments=item.text(0))
        self._done(out, item, "completed")

    def close_all(self, out: Out) -> None:
        self._close_message(out)
        self.close_reasoning(out)
        for key in list(self._calls):
            self.close_call(out, key)

    def complete(
        self, out: Out, counted: usage.Usage, *, reasoning_tokens: int = 0, incomplete: str | None = None
    ) -> None:
        """Close every item and end with ``response.completed``, or ``response.incomplete`` for ``incomplete``
        (``max_output_tokens`` or ``content_filter``)."""
        self.start(out)
        self.close_all(out)
        response = self._response("incomplete" if incomplete else "completed")
        if incomplete:
            response["incomplete_details"] = {"reason": incomplete}
        response["usage"] = responses_objects.usage_body(counted, reasoning_tokens=reasoning_tokens)
        self._emit(out, "response.incomplete" if incomplete else "response.completed", response=response)
        self._ended = True

    def fail(self, out: Out, counted: usage.Usage, *, code: str, message: str) -> None:
        """End with an ``error`` event and ``response.failed``; items still open are shown incomplete."""
        self.start(out)
        self._emit(out, "error", code=code, message=message, param=None)
        response = self._response("failed", output_status="incomplete")
        response["error"] = {"code": code, "message": message}
        response["usage"] = responses_objects.usage_body(counted)
        self._emit(out, "response.failed", response=response)
        self._ended = True

    def _content(self, out: Out, kind: str, text: str) -> None:
        self.start(out)
        if self._message is None:
            self.close_reasoning(out)
            self._message = self._add(out, "message")
        item = self._message
        if not item.part_kinds or item.part_kinds[-1] != kind:
            self._close_part(out, item)
            self._open_part(out, item, kind)
        item.parts[-1].append(text)
        part = len(item.parts) - 1
        if kind == "output_text":
            self._emit(out, "response.output_text.delta", **self._at(item), content_index=part, delta=text, logprobs=[])
        else:
            self._emit(out, "response.refusal.delta", **self._at(item), content_index=part, delta=text)

    def _close_message(self, out: Out) -> None:
        item = self._message
        if item is None:
            return
        self._message = None
        self._close_part(out, item)
        self._done(out, item, "completed")

    def _add(self, out: Out, kind: str, *, call_id: str = "", name: str = "", namespace: str | None = None) -> _Item:
        index = len(self._items)
        item_id = responses_objects.item_id(kind, self._id, index)
        item = _Item(kind, index, item_id, call_id=call_id, name=name, namespace=namespace)
        self._items.append(item)
        self._emit(out, "response.output_item.added", output_index=index, item=item.body("in_progress"))
        return item

    def _open_part(self, out: Out, item: _Item, kind: str) -> None:
        item.parts.append([])
        item.part_kinds.append(kind)
        part = len(item.parts) - 1
        if kind == "summary":
            self._emit(
                out,
                "response.reasoning_summary_part.added",
                **self._at(item),
                summary_index=part,
                part={"type": "summary_text", "text": ""},
            )
        else:
            self._emit(out, "response.content_part.added", **self._at(item), content_index=part, part=_part(kind, ""))

    def _close_part(self, out: Out, item: _Item) -> None:
        """End the last part of ``item``, if it has one still open (parts close only here, in order)."""
        if item.closed_parts == len(item.parts):
            return
        item.closed_parts = len(item.parts)
        part = len(item.parts) - 1
        kind, text = item.part_kinds[part], item.text(part)
        at = self._at(item)
        if kind == "summary":
            self._emit(out, "response.reasoning_summary_text.done", **at, summary_index=part, text=text)
            summary_part = {"type": "summary_text", "text": text}
            self._emit(out, "response.reasoning_summary_part.done", **at, summary_index=part, part=summary_part)
            return
        if kind == "output_text":
            self._emit(out, "response.output_text.done", **at, content_index=part, text=text, logprobs=[])
        elif kind == "refusal":
            self._emit(out, "response.refusal.done", **at, content_index=part, refusal=text)
        else:
            self._emit(out, "response.reasoning_text.done", **at, content_index=part, text=text)
        self._emit(out, "response.content_part.done", **at, content_index=part, part=_part(kind, text))

    def _done(self, out: Out, item: _Item, status: str) -> None:
        item.status = status
        self._emit(out, "response.output_item.done", output_index=item.index, item=item.body(status))

    def _at(self, item: _Item) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index}

    def _response(self, status: str, *, output_status: str = "completed") -> dict[str, Any]:
        response = responses_objects.envelope(
            self._request, response_id=self._id, created_at=self._created_at, model=self.model, status=status
        )
        response["output"] = [] if status == "in_progress" else self.output(output_status)
        return response

    def _emit(self, out: Out, kind: str, **fields: Any) -> None:
        out.append({"type": kind, "sequence_number": self._sequence, **fields})
        self._sequence += 1


def _part(kind: str, text: str) -> dict[str, Any]:
    if kind == "output_text":
        return responses_objects.text_part(text)
    if kind == "refusal":
        return responses_objects.refusal_part(text)
    return {"type": "reasoning_text", "text": text}


def encode(event: dict[str, Any]) -> bytes:
    """One Responses stream event as SSE, named by its ``type`` as OpenAI's own streams name them."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class StreamOptions(TypedDict):
    """``TranslatedStream``'s arguments, for subclasses to pass through."""

    request: dict[str, Any]
    response_id: str
    created_at: int
    model: NotRequired[str | None]
    input_estimate: NotRequired[int]


class TranslatedStream:
    """What every translation of an upstream stream into the Responses stream shares: the writer, the usage
    counted so far, and how a stream that breaks is ended. Subclasses feed the upstream's own events."""

    def __init__(
        self,
        *,
        request: dict[str, Any],
        response_id: str,
        created_at: int,
        model: str | None = None,
        input_estimate: int = 0,
    ) -> None:
        """``request`` is the validated Responses request; ``model`` the name to show (the client's, usually)."""
        self._writer = ResponsesEventWriter(
            request, response_id=response_id, created_at=created_at, model=model or request["model"]
        )
        self._response_id = response_id
        self._usage = usage.UsageAccumulator(input_estimate)
        self._clean = False

    @property
    def ended_cleanly(self) -> bool:
        """Whether the upstream ended the answer itself (it is whole) without an error."""
        return self._clean

    @property
    def usage(self) -> usage.Usage:
        return self._usage.usage()

    def output(self) -> list[dict[str, Any]]:
        """The output items so far, as a stored response would keep them."""
        return self._writer.output("incomplete")

    def fail(self, message: str, *, code: str = "server_error") -> list[dict[str, Any]]:
        """End the response as failed: for the caller, when the upstream connection breaks."""
        out: list[dict[str, Any]] = []
        if not self._writer.ended:
            self._writer.fail(out, self._usage.usage(), code=code, message=message)
        return out
