"""Checks of the Responses stream protocol that hold for every stream a translator writes."""

from __future__ import annotations

from typing import Any

FINAL = ("response.completed", "response.incomplete", "response.failed")


def check_protocol(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Sequence numbers count from 0; created and in_progress open, one final event closes; every item is added
    at the next output index, its events name its id and index and come before its ``output_item.done``; every
    content or summary part opens before its deltas and closes before its item. Returns the final response."""
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    final = events[-1]
    assert final["type"] in FINAL
    assert not any(e["type"] in FINAL for e in events[:-1])
    if final["type"] == "response.failed":
        assert events[-2]["type"] == "error"
    items: dict[int, str] = {}  # output_index -> item id, while open
    done: dict[int, dict[str, Any]] = {}
    parts: set[tuple[str, str, int]] = set()  # open (item id, "content" | "summary", index)
    for event in events[2:-1]:
        kind = event["type"]
        if kind == "error":
            continue
        index = event["output_index"]
        if kind == "response.output_item.added":
            assert index == len(items) + len(done), "items are added at the next output index"
            items[index] = event["item"]["id"]
            continue
        assert items.get(index) is not None, f"{kind} for an item not open"
        if kind == "response.output_item.done":
            assert event["item"]["id"] == items.pop(index)
            assert not any(p[0] == event["item"]["id"] for p in parts), "parts close before their item"
            done[index] = event["item"]
            continue
        assert event["item_id"] == items[index]
        scope = "summary" if "summary_index" in event else "content"
        key = (event["item_id"], scope, event.get("summary_index", event.get("content_index", -1)))
        if kind in ("response.content_part.added", "response.reasoning_summary_part.added"):
            assert key not in parts
            parts.add(key)
        elif kind in ("response.content_part.done", "response.reasoning_summary_part.done"):
            parts.remove(key)
        elif key[2] >= 0:
            assert key in parts, f"{kind} outside its part"
    if final["type"] != "response.failed":
        assert not items, "every item is done before the response completes"
        assert final["response"]["output"] == [done[i] for i in sorted(done)]
    response: dict[str, Any] = final["response"]
    return response
