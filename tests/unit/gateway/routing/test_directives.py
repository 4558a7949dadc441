from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import directives, errors, modes


def test_single_line_directive_sets_fields_and_is_stripped() -> None:
    p = directives.parse([("user", "@@tokenhub mode=cheap max_budget_usd=0.02 min_weight=3\nSummarise this.")])
    assert p.directives.mode is modes.Mode.CHEAP
    assert p.directives.max_budget_usd == 0.02
    assert p.directives.min_weight == 3
    assert p.texts == ("Summarise this.",)
    assert p.sources == (0,)


def test_block_directive_allows_values_with_spaces() -> None:
    text = 'Hi\n@@tokenhub\nmode = planning\noutput_schema={"type": "object", "required": ["a"]}\n@@end\nBye'
    p = directives.parse([("user", text)])
    assert p.directives.mode is modes.Mode.PLANNING
    assert p.directives.output_schema == {"type": "object", "required": ["a"]}
    assert p.texts == ("Hi\nBye",)


def test_last_value_wins_across_system_and_user_messages() -> None:
    p = directives.parse(
        [
            ("system", "@@tokenhub mode=high_confidence max_latency_ms=5000"),
            ("user", "@@tokenhub mode=cheap\nfirst"),
            ("assistant", "ok"),
            ("user", "@@tokenhub mode=planning\nsecond"),
        ]
    )
    assert p.directives.mode is modes.Mode.PLANNING
    assert p.directives.max_latency_ms == 5000


def test_assistant_and_tool_turns_are_neither_read_nor_changed() -> None:
    p = directives.parse([("assistant", "@@tokenhub mode=nonsense"), ("tool", "@@tokenhub x")])
    assert p.directives == directives.Directives()
    assert p.texts == ("@@tokenhub mode=nonsense", "@@tokenhub x")


def test_marker_inside_prose_is_not_a_directive() -> None:
    text = "What does the @@tokenhub marker do?"
    assert directives.parse([("user", text)]).texts == (text,)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("@@tokenhub mode=fastest", "mode"),
        ("@@tokenhub max_budget_usd=-1", "max_budget_usd"),
        ("@@tokenhub budget=nan", "budget"),
        ("@@tokenhub max_latency_ms=abc", "max_latency_ms"),
        ("@@tokenhub min_weight=11", "min_weight"),
        ("@@tokenhub output_schema=[1]", "output_schema"),
        ("@@tokenhub colour=blue", "colour"),
        ("@@tokenhub justtext", "justtext"),
        ("@@tokenhub\nmode=cheap", "@@tokenhub"),
    ],
)
def test_invalid_directive_is_an_error_naming_it(text: str, key: str) -> None:
    with pytest.raises(errors.DirectiveError) as info:
        directives.parse([("user", text)])
    assert info.value.directive == key


roles = st.sampled_from(["system", "user", "assistant", "tool"])
texts = st.one_of(
    st.text(),
    st.builds(lambda a, b: f"{a}\n@@tokenhub {b}\n", st.text(), st.text()),
    st.builds(lambda a, b: f"@@tokenhub\n{a}\n@@end\n{b}", st.text(), st.text()),
)


@given(st.lists(st.tuples(roles, texts), max_size=5))
def test_parser_never_crashes_on_arbitrary_text(messages: list[tuple[str, str]]) -> None:
    try:
        p = directives.parse(messages)
    except errors.DirectiveError as exc:
        assert exc.directive is not None
        return
    assert len(p.texts) == len(messages)
    for (role, text), out in zip(messages, p.texts, strict=True):
        if role in ("assistant", "tool") or directives.MARKER not in text:
            assert out == text
