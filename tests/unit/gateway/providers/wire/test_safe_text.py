"""Upstream text echoed to clients and stored in log rows: printable, valid UTF-8, bounded - whatever came in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.wire import error_bodies, safe_text

limits = st.integers(min_value=0, max_value=300)


def storable(text: str) -> bool:
    """What Postgres text, a UTF-8 encoder and a terminal all accept."""
    controls = any((ord(ch) < 0x20 and ch not in "\t\n\r") or 0x7F <= ord(ch) < 0xA0 for ch in text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not controls


@given(st.text(), limits)
def test_any_text_comes_out_storable_and_within_its_limit(value: str, limit: int) -> None:
    safe = safe_text.text(value, limit)
    assert storable(safe) and len(safe) <= limit


@given(st.binary(), limits)
def test_any_bytes_come_out_storable_and_within_their_limit(raw: bytes, limit: int) -> None:
    safe = safe_text.from_bytes(raw, limit)
    assert storable(safe) and len(safe) <= limit


@given(st.text(st.characters(blacklist_categories=["Cc", "Cs"])))
def test_printable_text_within_the_limit_is_left_alone(value: str) -> None:
    assert safe_text.text(value, len(value) + 1) == value


def test_cut_text_says_so() -> None:
    assert safe_text.text("x" * 50, 20) == "x" * 8 + safe_text.MARKER
    assert safe_text.from_bytes(b"y" * 10_000, 20).endswith(safe_text.MARKER)


def test_nul_lone_surrogates_and_invalid_utf8_are_replaced() -> None:
    assert safe_text.text("a\x00b\ud800c\x1b[2J") == "a\ufffdb\ufffdc\ufffd[2J"
    assert safe_text.from_bytes(b"bad \xff\xfe\x00 gateway") == "bad \ufffd\ufffd\ufffd gateway"


@given(st.one_of(st.binary(max_size=5000), st.text(max_size=5000)))
def test_error_bodies_read_from_anything_are_safe(body: bytes | str) -> None:
    read = error_bodies.read(body)
    assert storable(read.message) and len(read.message) <= error_bodies.MESSAGE_LIMIT


@given(st.text(max_size=5000), st.text(max_size=500), st.text(max_size=500))
def test_error_fields_in_json_bodies_are_safe(message: str, kind: str, code: str) -> None:
    read = error_bodies.read({"error": {"message": message, "type": kind, "code": code, "param": code}})
    fields = [read.message, read.type or "", read.code or "", read.param or ""]
    assert all(storable(field) for field in fields)
    assert len(read.message) <= error_bodies.MESSAGE_LIMIT
    assert all(len(field) <= error_bodies.FIELD_LIMIT for field in fields[1:])
