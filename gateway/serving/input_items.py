"""The page of a stored response's input items that ``GET /v1/responses/{id}/input_items`` answers.

Pure: the stored conversation in, the list object out. Items are shown as the Responses API lists them: every one
with a ``type`` and an ``id`` (an item sent without one gets an id derived from the response and its position, so
the same item keeps the same id on every read and ``after`` can page through them), messages with content parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.serving import errors

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageQuery:
    limit: int = DEFAULT_LIMIT
    descending: bool = True
    after: str | None = None


def parse_query(params: Mapping[str, str]) -> PageQuery:
    """``limit`` (1..100, default 20), ``order`` (``asc``/``desc``, default ``desc``) and ``after`` (an item id)."""
    raw_limit = params.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw_limit!r}", param="limit")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise errors.InvalidRequest(f"order must be 'asc' or 'desc', got {order!r}", param="order")
    return PageQuery(limit, order == "desc", params.get("after") or None)


def _part(text: str, role: Any) -> dict[str, Any]:
    return {"type": "output_text" if role == "assistant" else "input_text", "text": text}


def listed_item(item: Any, response_id: str, position: int) -> dict[str, Any]:
    """One input item as listed: ``type`` and ``id`` always set, a message's string content as one text part."""
    shown = dict(item) if isinstance(item, Mapping) else {"type": "message", "role": "user", "content": str(item)}
    shown.setdefault("type", "message")
    if shown["type"] == "message":
        if isinstance(shown.get("content"), str):
            shown["content"] = [_part(shown["content"], shown.get("role"))]
        shown.setdefault("status", "completed")
    if not isinstance(shown.get("id"), str) or not shown["id"]:
        prefix = "msg" if shown["type"] == "message" else "item"
        shown["id"] = f"{prefix}_{response_id.removeprefix('resp_')}_{position}"
    return shown


def page(conversation: Sequence[Any], response_id: str, query: PageQuery) -> dict[str, Any]:
    """The list object: ``data`` in the order asked, at most ``limit`` items after ``after``."""
    items = [listed_item(item, response_id, position) for position, item in enumerate(conversation)]
    if query.descending:
        items.reverse()
    if query.after is not None:
        ids = [item["id"] for item in items]
        if query.after not in ids:
            raise errors.InvalidRequest(f"response {response_id!r} has no input item {query.after!r}", param="after")
        items = items[ids.index(query.after) + 1 :]
    data = items[: query.limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > len(data),
    }
