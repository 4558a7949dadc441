"""The input-items page: every item listed with a type and a stable id, paged by ``after`` in either order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.serving import errors, input_items

CONVERSATION: list[Any] = [
    {"role": "user", "content": "alpha"},
    {"type": "message", "role": "assistant", "content": "echo: alpha", "id": "msg_a1"},
    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c1", "output": "42"},
]


def test_items_get_types_ids_and_content_parts() -> None:
    listed = input_items.page(CONVERSATION, "resp_x", input_items.PageQuery(descending=False))
    assert [item["id"] for item in listed["data"]] == ["msg_x_0", "msg_a1", "item_x_2", "item_x_3"]
    assert listed["data"][0] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "alpha"}],
        "status": "completed",
        "id": "msg_x_0",
    }
    assert listed["data"][1]["content"] == [{"type": "output_text", "text": "echo: alpha"}]
    assert (listed["first_id"], listed["last_id"], listed["has_more"]) == ("msg_x_0", "item_x_3", False)


def test_the_default_order_is_newest_first() -> None:
    listed = input_items.page(CONVERSATION, "resp_x", input_items.parse_query({}))
    assert [item["id"] for item in listed["data"]] == ["item_x_3", "item_x_2", "msg_a1", "msg_x_0"]


def test_an_unknown_after_is_refused_naming_it() -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        input_items.page(CONVERSATION, "resp_x", input_items.PageQuery(after="msg_nope"))
    assert info.value.param == "after" and "msg_nope" in info.value.message


@pytest.mark.parametrize(
    ("params", "param"), [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"order": "up"}, "order")]
)
def test_bad_query_values_are_refused(params: dict[str, str], param: str) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        input_items.parse_query(params)
    assert info.value.param == param


@given(size=st.integers(0, 30), limit=st.integers(1, 7), descending=st.booleans())
def test_paging_with_after_lists_every_item_once_in_order(size: int, limit: int, descending: bool) -> None:
    conversation = [{"role": "user", "content": str(i)} for i in range(size)]
    seen: list[str] = []
    after: str | None = None
    while True:
        listed = input_items.page(conversation, "resp_p", input_items.PageQuery(limit, descending, after))
        seen += [item["content"][0]["text"] for item in listed["data"]]
        if not listed["has_more"]:
            break
        after = listed["last_id"]
    expected = [str(i) for i in range(size)]
    assert seen == (expected[::-1] if descending else expected)
