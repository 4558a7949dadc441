"""Hashing and checking of API key secrets.

SHA-256, not bcrypt or Argon2: a slow hash protects low-entropy passwords from guessing, but a secret of 280
random bits cannot be guessed however fast the hash, so a slow one would only burn CPU on every request (the
older system spent a bcrypt round per uncached request for nothing).
"""

import hashlib
import hmac


def hash_secret(secret: str) -> bytes:
    """The 32-byte digest stored for a key's secret part (the key itself is never stored)."""
    return hashlib.sha256(secret.encode()).digest()


def verify(secret: str, expected_hash: bytes) -> bool:
    """True when `secret` hashes to `expected_hash`; the comparison takes the same time wherever they differ."""
    return hmac.compare_digest(hash_secret(secret), expected_hash)
