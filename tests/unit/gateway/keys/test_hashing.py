import hashlib

from hypothesis import given
from hypothesis import strategies as st

from gateway import keys


def test_the_stored_hash_is_sha256_of_the_secret() -> None:
    assert keys.hash_secret("abc") == hashlib.sha256(b"abc").digest()


def test_the_right_secret_verifies() -> None:
    issued = keys.generate()
    secret = keys.parse(issued.full_key).secret

    assert keys.verify(secret, issued.secret_hash)


@given(st.text(), st.text())
def test_a_different_secret_never_verifies(secret: str, other: str) -> None:
    if secret != other:
        assert not keys.verify(other, keys.hash_secret(secret))


def test_a_truncated_or_empty_stored_hash_never_verifies() -> None:
    stored = keys.hash_secret("s3cret")

    assert not keys.verify("s3cret", stored[:16])
    assert not keys.verify("s3cret", b"")
