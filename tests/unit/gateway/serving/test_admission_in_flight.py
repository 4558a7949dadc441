"""A key's ``rateLimit.concurrent``: slots held per key on this replica, never more than the limit."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import snapshot, specs
from gateway.serving import admission, auth, errors


def key(name: str, concurrent: int | None) -> auth.KeyContext:
    rate = {"rateLimit": {"concurrent": concurrent}} if concurrent is not None else {}
    record = snapshot.KeyRecord(
        key_id=f"id-{name}",
        secret_hash=b"",
        key_prefix="thk_",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        valid_until=None,
        disabled=False,
    )
    ref = snapshot.Ref("ApiKey", "default", name)
    return auth.KeyContext(snapshot.KeyEntry(ref, specs.ApiKeySpec.model_validate(rate), record))


def test_a_key_without_the_limit_holds_nothing() -> None:
    in_flight = admission.InFlight()
    assert in_flight.acquire(key("free", None)) is None
    assert in_flight.held("default", "free") == 0


def test_the_limit_refuses_with_a_429_naming_it_until_a_slot_is_released() -> None:
    in_flight = admission.InFlight()
    limited = key("two", 2)
    first, second = in_flight.acquire(limited), in_flight.acquire(limited)
    with pytest.raises(errors.ConcurrencyLimited) as info:
        in_flight.acquire(limited)
    assert info.value.status == 429 and info.value.error_class == "concurrency_limited"
    assert info.value.code == "concurrency_limit_exceeded" and info.value.headers == {"Retry-After": "1"}
    assert in_flight.acquire(key("other", 1)) is not None  # per key
    assert first is not None and second is not None
    first.release()
    first.release()  # a second release of the same slot frees nothing more
    assert in_flight.held("default", "two") == 1
    assert in_flight.acquire(limited) is not None


@given(limit=st.integers(1, 4), steps=st.lists(st.booleans(), max_size=40))
def test_slots_held_never_exceed_the_limit_and_match_what_was_granted(limit: int, steps: list[bool]) -> None:
    """True acquires, False releases the oldest held slot."""
    in_flight = admission.InFlight()
    limited = key("k", limit)
    held: list[admission.Slot] = []
    for acquire in steps:
        if acquire:
            try:
                slot = in_flight.acquire(limited)
            except errors.ConcurrencyLimited:
                assert len(held) == limit
            else:
                assert slot is not None
                held.append(slot)
        elif held:
            held.pop(0).release()
        assert in_flight.held("default", "k") == len(held) <= limit


@pytest.mark.parametrize("value", [0, -1, 100_001, "many"])
def test_the_spec_field_is_validated(value: object) -> None:
    with pytest.raises(ValueError, match="concurrent"):
        specs.ApiKeySpec.model_validate({"rateLimit": {"concurrent": value}})
