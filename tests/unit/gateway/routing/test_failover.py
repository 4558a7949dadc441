from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import failover
from gateway.routing.failover import Attempt, ErrorClass, Outcome

E = ErrorClass


@dataclass(frozen=True)
class C:
    name: str
    provider: str
    context_window: int = 8192


CANDIDATES = [C("a", "p1"), C("b", "p1"), C("c", "p2", 32_000), D := C("d", "p3", 200_000)]


def step(attempts: list[Attempt], candidates: list[C] = CANDIDATES) -> failover.Step:
    return failover.next_step(candidates, attempts, rng=random.Random(1))


def test_first_step_tries_the_best_candidate() -> None:
    s = step([])
    assert (s.outcome, s.candidate) == (Outcome.NEXT_CANDIDATE, 0)


def test_success_stops() -> None:
    assert step([Attempt("a", "p1")]).outcome is Outcome.STOP


def test_transient_errors_retry_the_same_candidate_with_growing_jittered_backoff() -> None:
    first = step([Attempt("a", "p1", E.TRANSIENT)])
    second = step([Attempt("a", "p1", E.TRANSIENT)] * 2)
    assert (first.outcome, first.candidate) == (Outcome.RETRY_SAME, 0)
    assert 0.05 <= first.delay_s <= 0.15
    assert 0.1 <= second.delay_s <= 0.3
    third = step([Attempt("a", "p1", E.TRANSIENT)] * 3)
    assert (third.outcome, third.candidate) == (Outcome.NEXT_CANDIDATE, 1)


def test_rate_limit_moves_to_another_provider_and_asks_for_a_cooldown() -> None:
    s = step([Attempt("a", "p1", E.RATE_LIMITED)])
    assert (s.outcome, s.candidate, s.cooldown_provider) == (Outcome.NEXT_CANDIDATE, 2, "p1")


def test_auth_failure_skips_every_model_of_that_provider() -> None:
    assert step([Attempt("a", "p1", E.AUTH)]).candidate == 2


def test_context_overflow_escalates_to_a_larger_window() -> None:
    s = step([Attempt("c", "p2", E.CONTEXT_OVERFLOW)])
    assert (s.outcome, s.candidate) == (Outcome.ESCALATE_CONTEXT, 3)
    assert step([Attempt("d", "p3", E.CONTEXT_OVERFLOW)]).outcome is Outcome.STOP


def test_bad_request_and_fatal_stop_at_once() -> None:
    assert step([Attempt("a", "p1", E.BAD_REQUEST)]).outcome is Outcome.STOP
    assert step([Attempt("a", "p1", E.FATAL)]).outcome is Outcome.STOP


def test_error_class_names_parse_from_strings() -> None:
    assert ErrorClass("stream_broken") is E.STREAM_BROKEN


candidate_lists = st.lists(
    st.builds(C, st.sampled_from("abcdefgh"), st.sampled_from(["p1", "p2", "p3"]), st.integers(0, 300_000)),
    max_size=8,
    unique_by=lambda c: c.name,
)


@given(candidate_lists, st.lists(st.sampled_from(list(ErrorClass)), min_size=1, max_size=100), st.integers(0, 9))
def test_planner_always_terminates_within_its_bound(
    candidates: list[C], errors_seq: list[ErrorClass], max_retries: int
) -> None:
    settings = failover.FailoverSettings(max_same_retries=max_retries % 4, max_attempts=50)
    bound = min(len(candidates) * (1 + settings.max_same_retries), settings.max_attempts)
    rng = random.Random(0)
    attempts: list[Attempt] = []
    errs = iter(errors_seq * 200)
    while True:
        s = failover.next_step(candidates, attempts, rng=rng, settings=settings)
        if s.outcome is Outcome.STOP:
            break
        assert s.candidate is not None
        c = candidates[s.candidate]
        attempts.append(Attempt(c.name, c.provider, next(errs), delay_s=s.delay_s))
        assert len(attempts) <= bound
        assert s.delay_s <= settings.backoff_max_s * 1.5
