"""A provider credential is printable ASCII: it travels in an HTTP header, and anything else can never work."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import credentials


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "is empty"),
        (b"\xff\xfe", "is not ASCII text (byte 0xff at offset 0)"),
        ("sk-ключ".encode(), "is not ASCII text (byte 0xd0 at offset 3)"),
        (b"sk-1\r\nX-Injected: 1", "holds the control character 0x0d at offset 4"),
        (b"sk\x00", "holds the control character 0x00 at offset 2"),
        (b"   ", "is only white space"),
        (b"k" * (credentials.MAX_BYTES + 1), f"is longer than {credentials.MAX_BYTES} bytes"),
    ],
)
def test_unusable_credentials_are_refused_with_the_reason(value: bytes, reason: str) -> None:
    assert credentials.invalid_reason(value) == reason


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200))
def test_printable_ascii_is_accepted_and_sent_as_is(key: str) -> None:
    assert credentials.invalid_reason(key.encode()) is None
    assert credentials.text(key.encode()) == key


@given(st.binary(max_size=64))
def test_any_bytes_are_judged_without_raising(value: bytes) -> None:
    reason = credentials.invalid_reason(value)
    if reason is None:
        assert credentials.text(value).isprintable()
