"""The text form of client API keys: `thk_<public id>_<secret>`, issued, parsed and shown in listings.

Both parts are lowercase RFC 4648 base32 (`a-z`, `2-7`), so `_` splits a key unambiguously and a key survives
URLs, headers and shells unquoted. The public id is 10 random bytes (16 characters, 80 bits): it is a lookup
handle, not a secret, and 80 bits keep the chance of any collision below one in a million up to a billion keys.
The secret is 35 random bytes (56 characters, 280 bits >= 256): a multiple of 5 bytes, so base32 needs no
padding and every character carries 5 full bits. Unlike the older system's key id, the public id is drawn
separately and says nothing about the secret.
"""

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.keys import errors, hashing

PREFIX = "thk"
PUBLIC_ID_BYTES = 10
SECRET_BYTES = 35
PUBLIC_ID_CHARS = PUBLIC_ID_BYTES * 8 // 5
SECRET_CHARS = SECRET_BYTES * 8 // 5
ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")

RandomBytes = Callable[[int], bytes]
"""A source of random bytes, `secrets.token_bytes` unless a test passes a seeded one."""


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly generated key: `full_key` is shown to its owner once, the rest is stored."""

    full_key: str = field(repr=False)
    public_id: str
    secret_hash: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A presented key split into the id to look up and the secret to check."""

    public_id: str
    secret: str = field(repr=False)


def generate(random_bytes: RandomBytes = secrets.token_bytes) -> IssuedKey:
    """Draw a new key; the caller stores `public_id` and `secret_hash`, hands out `full_key`, and forgets it."""
    public_id = _encode(random_bytes(PUBLIC_ID_BYTES))
    secret = _encode(random_bytes(SECRET_BYTES))
    return IssuedKey(
        full_key=f"{PREFIX}_{public_id}_{secret}",
        public_id=public_id,
        secret_hash=hashing.hash_secret(secret),
    )


def parse(text: str) -> ParsedKey:
    """Split a presented key, or raise `errors.MalformedKey` naming the first defect (never quoting the text)."""
    parts = text.split("_")
    if parts[0] != PREFIX:
        raise errors.MalformedKey(f"does not start with {PREFIX}_")
    if len(parts) != 3:
        raise errors.MalformedKey(f"has {len(parts)} '_'-separated parts, expected 3")
    _, public_id, secret = parts
    _check_part("public id", public_id, PUBLIC_ID_CHARS)
    _check_part("secret", secret, SECRET_CHARS)
    return ParsedKey(public_id=public_id, secret=secret)


def display_prefix(full_key: str) -> str:
    """What listings and status show for a key: its prefix and public id, none of its secret."""
    return f"{PREFIX}_{parse(full_key).public_id}_…"


def _check_part(name: str, value: str, expected_chars: int) -> None:
    if len(value) != expected_chars:
        raise errors.MalformedKey(f"{name} has {len(value)} characters, expected {expected_chars}")
    if not ALPHABET.issuperset(value):
        raise errors.MalformedKey(f"{name} has characters outside lowercase base32 (a-z, 2-7)")


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").lower()
