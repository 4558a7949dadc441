"""Hypothesis strategies shared by the property tests of the wire layer."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10)
json_objects = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)


def split(text: str) -> st.SearchStrategy[list[str]]:
    """``text`` cut into consecutive pieces at any points (empty pieces included)."""
    return st.lists(st.integers(0, len(text)), max_size=6).map(
        lambda cuts: [text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)], strict=True)]
    )


def object_with_fragments() -> st.SearchStrategy[tuple[dict[str, Any], list[str]]]:
    """A JSON object and its serialisation cut into argument fragments."""
    return json_objects.flatmap(lambda value: split(orjson.dumps(value).decode()).map(lambda parts: (value, parts)))
