from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import tool_arguments, tool_ids

ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def test_ids_anthropic_accepts_are_kept_as_they_are() -> None:
    assert tool_ids.to_anthropic("call_DdmO9pD3xa9XTPNJ32zg2hcA") == "call_DdmO9pD3xa9XTPNJ32zg2hcA"
    assert tool_ids.to_anthropic("toolu_01A09q90qw90lq917835lq9") == "toolu_01A09q90qw90lq917835lq9"


def test_other_ids_are_encoded_into_anthropic_characters_and_decoded_back() -> None:
    encoded = tool_ids.to_anthropic("functions.get_weather:0")
    assert ANTHROPIC_ID.match(encoded)
    assert tool_ids.from_anthropic(encoded) == "functions.get_weather:0"


@given(st.text(min_size=1))
def test_every_id_survives_the_round_trip_and_is_valid_for_anthropic(tool_id: str) -> None:
    encoded = tool_ids.to_anthropic(tool_id)
    assert ANTHROPIC_ID.match(encoded)
    assert tool_ids.from_anthropic(encoded) == tool_id


def test_an_id_that_merely_looks_encoded_comes_back_unchanged() -> None:
    assert tool_ids.from_anthropic("th64_not!base64") == "th64_not!base64"
    assert tool_ids.from_anthropic("th64_YQ==") == "th64_YQ=="
    assert tool_ids.from_anthropic("th64_") == "th64_", "never an empty id"


def test_unparseable_arguments_travel_wrapped_and_come_back_exactly() -> None:
    for raw in ('{"city": "Par', "[1, 2]", "42"):
        wrapped = tool_arguments.to_input(raw)
        assert wrapped == {tool_arguments.UNPARSED_KEY: raw}
        assert tool_arguments.to_arguments(wrapped) == raw


def test_empty_arguments_become_an_empty_input() -> None:
    assert tool_arguments.to_input("") == {}
    assert tool_arguments.to_input("  ") == {}
    assert tool_arguments.to_arguments({}) == "{}"
