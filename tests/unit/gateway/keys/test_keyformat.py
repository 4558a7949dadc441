import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import keys
from gateway.keys import keyformat

KEY_PATTERN_LENGTH = len("thk_") + keyformat.PUBLIC_ID_CHARS + 1 + keyformat.SECRET_CHARS


def seeded(seed: int) -> keyformat.RandomBytes:
    return random.Random(seed).randbytes


def test_a_generated_key_has_the_documented_shape() -> None:
    issued = keys.generate()

    prefix, public_id, secret = issued.full_key.split("_")

    assert prefix == "thk"
    assert public_id == issued.public_id
    assert len(public_id) == 16
    assert len(secret) == 56
    assert len(issued.full_key) == KEY_PATTERN_LENGTH
    assert set(public_id + secret) <= set("abcdefghijklmnopqrstuvwxyz234567")


def test_the_secret_carries_at_least_256_bits() -> None:
    assert keyformat.SECRET_BYTES * 8 >= 256
    assert keyformat.SECRET_CHARS * 5 == keyformat.SECRET_BYTES * 8


def test_an_injected_random_source_makes_generation_reproducible() -> None:
    assert keys.generate(seeded(7)).full_key == keys.generate(seeded(7)).full_key
    assert keys.generate(seeded(7)).full_key != keys.generate(seeded(8)).full_key


def test_the_public_id_is_drawn_apart_from_the_secret() -> None:
    draws = iter([b"\x00" * keyformat.PUBLIC_ID_BYTES, b"\xff" * keyformat.SECRET_BYTES])

    issued = keys.generate(lambda n: next(draws))

    assert issued.public_id == "a" * 16
    assert issued.full_key.endswith("_" + "7" * 56)


def test_repr_of_issued_and_parsed_keys_never_shows_the_secret() -> None:
    issued = keys.generate(seeded(1))
    secret = issued.full_key.rsplit("_", 1)[1]

    assert secret not in repr(issued)
    assert secret not in repr(keys.parse(issued.full_key))
    assert issued.public_id in repr(issued)


def test_display_prefix_shows_the_public_id_and_nothing_of_the_secret() -> None:
    issued = keys.generate(seeded(2))

    shown = keys.display_prefix(issued.full_key)

    assert shown == f"thk_{issued.public_id}_…"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "does not start with thk_"),
        ("tokenhub_" + "0" * 64, "does not start with thk_"),
        ("Bearer thk_x_y", "does not start with thk_"),
        ("thk_" + "a" * 16, "has 2 '_'-separated parts, expected 3"),
        ("thk_" + "a" * 16 + "_" + "b" * 28 + "_" + "c" * 27, "has 4 '_'-separated parts, expected 3"),
        ("thk_" + "a" * 15 + "_" + "b" * 56, "public id has 15 characters, expected 16"),
        ("thk_" + "a" * 16 + "_" + "b" * 57, "secret has 57 characters, expected 56"),
        ("thk_" + "A" * 16 + "_" + "b" * 56, "public id has characters outside lowercase base32 (a-z, 2-7)"),
        ("thk_" + "a" * 16 + "_" + "b" * 55 + "1", "secret has characters outside lowercase base32 (a-z, 2-7)"),
    ],
)
def test_parse_names_the_defect_of_a_malformed_key(text: str, reason: str) -> None:
    with pytest.raises(keys.MalformedKey) as caught:
        keys.parse(text)

    assert caught.value.reason == reason


def test_a_malformed_key_error_never_quotes_the_secret() -> None:
    secret = "b" * 55 + "9"

    with pytest.raises(keys.MalformedKey) as caught:
        keys.parse("thk_" + "a" * 16 + "_" + secret)

    assert secret not in str(caught.value)
    assert isinstance(caught.value, keys.ApiKeyError)


@given(
    st.binary(min_size=keyformat.PUBLIC_ID_BYTES, max_size=keyformat.PUBLIC_ID_BYTES),
    st.binary(min_size=keyformat.SECRET_BYTES, max_size=keyformat.SECRET_BYTES),
)
def test_every_generated_key_parses_back_and_verifies(public_id_bytes: bytes, secret_bytes: bytes) -> None:
    draws = iter([public_id_bytes, secret_bytes])
    issued = keys.generate(lambda n: next(draws))

    parsed = keys.parse(issued.full_key)

    assert parsed.public_id == issued.public_id
    assert keys.verify(parsed.secret, issued.secret_hash)


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    position=st.integers(min_value=0, max_value=KEY_PATTERN_LENGTH - 1),
    replacement=st.characters(),
)
def test_any_altered_character_is_refused_by_parse_or_verify(seed: int, position: int, replacement: str) -> None:
    issued = keys.generate(seeded(seed))
    original = issued.full_key
    altered = original[:position] + replacement + original[position + 1 :]
    if altered == original:
        return

    try:
        parsed = keys.parse(altered)
    except keys.MalformedKey:
        return
    assert parsed.public_id != issued.public_id or not keys.verify(parsed.secret, issued.secret_hash)


@given(st.text())
def test_parse_either_accepts_or_raises_malformed_key_for_any_text(text: str) -> None:
    try:
        parsed = keys.parse(text)
    except keys.MalformedKey:
        return
    assert text == f"thk_{parsed.public_id}_{parsed.secret}"


@given(st.text(alphabet="thk_abcdefghijklmnopqrstuvwxyz234567ABZ019", min_size=70, max_size=80))
def test_parse_is_total_on_near_miss_keys(text: str) -> None:
    try:
        keys.parse(text)
    except keys.MalformedKey as exc:
        assert exc.reason
