from __future__ import annotations

import orjson

from gateway.routing import failover, table
from tests.unit.gateway.routing.factories import CHEAP, model, route


def test_header_names_mode_choice_runner_up_and_reason_in_ascii() -> None:
    t = table.compile_table([model("gpt-4o-mini", price=0.0002), model("claude-haiku", price=0.001)])
    h = route(t, mode=CHEAP, input_tokens=1000).header()
    assert h.startswith("mode=cheap; model=gpt-4o-mini; score=0.")
    assert "; runner_up=claude-haiku:0." in h and h.endswith("reason=best-score")
    assert h.isascii()


def test_header_is_bounded_and_sanitises_names() -> None:
    t = table.compile_table([model("é;" + "x" * 900)])
    h = route(t).header()
    assert len(h) <= 512 and h.isascii()
    assert "model=?_xxx" in h
    assert h.endswith("reason=best-score")


def test_full_form_is_json_with_terms_that_add_up_to_the_score() -> None:
    t = table.compile_table([model("a"), model("b", price=0.01, enabled=False)])
    d = route(t, input_tokens=100).with_attempt(failover.Attempt("a", "prov-a", failover.ErrorClass.TRANSIENT))
    doc = orjson.loads(orjson.dumps(d.to_json()))
    assert doc["model"] == "a"
    assert abs(sum(doc["terms"].values()) - doc["score"]) < 1e-9
    assert doc["rejected"] == [{"model": "b", "reason": "disabled", "message": "model is disabled"}]
    assert doc["attempts"][0]["error"] == "transient"
