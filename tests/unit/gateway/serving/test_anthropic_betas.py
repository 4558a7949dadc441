from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.serving import anthropic_betas

DEFAULT = anthropic_betas.BetaPolicy()


def test_claude_codes_betas_pass_by_default_and_pricing_ones_do_not() -> None:
    header = ",".join(anthropic_betas.CLAUDE_CODE)
    assert DEFAULT.split([header]) == (header, ())
    assert DEFAULT.split(["claude-code-20250219, context-1m-2025-08-07"]) == (
        "claude-code-20250219",
        ("context-1m-2025-08-07",),
    )


def test_several_headers_and_stray_commas_are_read_as_one_list() -> None:
    policy = anthropic_betas.BetaPolicy.of(["a", "b"])
    assert policy.split(["a,, x", " b ", ""]) == ("a,b", ("x",))
    assert policy.split([]) == ("", ())


def test_star_lets_every_beta_through_and_an_empty_list_none() -> None:
    assert anthropic_betas.BetaPolicy.of(None).split(["x,y"]) == ("x,y", ())
    assert anthropic_betas.BetaPolicy.of([]).split(["x,y"]) == ("", ("x", "y"))


names = st.from_regex(anthropic_betas.NAME, fullmatch=True)


@given(st.frozensets(names, max_size=4), st.lists(names, max_size=8))
def test_kept_and_dropped_split_the_values_in_order(allowed: frozenset[str], sent: list[str]) -> None:
    kept, dropped = anthropic_betas.BetaPolicy.of(allowed).split([",".join(sent)])
    assert [n for n in sent if n in allowed] == [n for n in kept.split(",") if n]
    assert [n for n in sent if n not in allowed] == list(dropped)
