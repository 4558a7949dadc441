"""Sealing credentials with AES-256-GCM under the data key, bound to the resource that owns them.

A blob is `version (1) | data key id (8) | nonce (12) | ciphertext | tag (16)`. The first nine bytes are
authenticated with the caller's associated data, so a blob copied to another resource or tampered with anywhere
fails to open. Nonces are 96 random bits; NIST SP 800-38D allows 2^32 such seals per key, far more than a
cluster has credentials.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.vault import errors

BLOB_VERSION = 1
DEK_BYTES = 32
DEK_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
_PREFIX_BYTES = 1 + DEK_ID_BYTES
_FRAME_BYTES = _PREFIX_BYTES + NONCE_BYTES
MIN_BLOB_BYTES = _FRAME_BYTES + TAG_BYTES

RandomBytes = Callable[[int], bytes]
"""A source of random bytes, `secrets.token_bytes` unless a test passes a seeded one."""


def dek_id(dek: bytes) -> bytes:
    """A non-secret fingerprint naming a data key, so a blob can say which key sealed it."""
    return hmac.new(dek, b"tokenhub-dek-id", hashlib.sha256).digest()[:DEK_ID_BYTES]


def sealed_under(blob: bytes) -> bytes:
    """The id of the data key that sealed `blob`, read without opening it."""
    _check_frame(blob)
    return blob[1:_PREFIX_BYTES]


def aad_for(kind: str, namespace: str, name: str) -> bytes:
    """Associated data naming a credential's owner, e.g. `b"Provider/default/openai"`."""
    for part in (kind, namespace, name):
        if not part or "/" in part:
            raise ValueError(f"resource name parts must be non-empty and free of '/', got {part!r}")
    return f"{kind}/{namespace}/{name}".encode()


class Vault:
    """An unlocked vault: seals and opens credentials under its data key.

    The data key is kept only inside the AES-GCM context and never shown by repr or str. Python cannot reliably
    wipe memory (bytes are immutable and may be copied), so dropping the object is all "locking" can mean here.
    """

    __slots__ = ("_aead", "_dek_id", "_random_bytes")

    def __init__(self, dek: bytes, *, random_bytes: RandomBytes = secrets.token_bytes) -> None:
        if len(dek) != DEK_BYTES:
            raise ValueError(f"a data key has {DEK_BYTES} bytes, got {len(dek)}")
        self._aead = AESGCM(dek)
        self._dek_id = dek_id(dek)
        self._random_bytes = random_bytes

    def __repr__(self) -> str:
        return f"<Vault dek_id={self._dek_id.hex()}>"

    @property
    def dek_id(self) -> bytes:
        """The fingerprint of this vault's data key, as written into every blob it seals."""
        return self._dek_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt `plaintext` for the owner named by `aad` (see `aad_for`)."""
        prefix = bytes([BLOB_VERSION]) + self._dek_id
        nonce = self._random_bytes(NONCE_BYTES)
        return prefix + nonce + self._aead.encrypt(nonce, plaintext, prefix + aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt a blob sealed for `aad`, or raise `errors.TamperedCiphertext` naming the failed check."""
        _check_frame(blob)
        prefix, nonce, sealed = blob[:_PREFIX_BYTES], blob[_PREFIX_BYTES:_FRAME_BYTES], blob[_FRAME_BYTES:]
        if prefix[1:] != self._dek_id:
            raise errors.TamperedCiphertext(
                f"blob was sealed under data key {prefix[1:].hex()}, this vault holds {self._dek_id.hex()}"
            )
        try:
            return self._aead.decrypt(nonce, sealed, prefix + aad)
        except InvalidTag:
            raise errors.TamperedCiphertext(
                "blob failed authentication: it was altered, or sealed for another resource than the one given"
            ) from None


def _check_frame(blob: bytes) -> None:
    if not blob:
        raise errors.TamperedCiphertext("blob is empty")
    if blob[0] != BLOB_VERSION:
        raise errors.UnsupportedFormat(f"blob format version {blob[0]} is unknown; this build reads {BLOB_VERSION}")
    if len(blob) < MIN_BLOB_BYTES:
        raise errors.TamperedCiphertext(
            f"blob is truncated: {len(blob)} bytes, a sealed value has at least {MIN_BLOB_BYTES}"
        )
