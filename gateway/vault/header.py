"""The vault header stored in Postgres: KDF parameters, salt and the wrapped data key, as versioned JSON.

Nothing in it is secret. JSON rather than a packed binary layout so an operator can read it in `psql`; binary
fields are standard base64, the data key id hex. A reader refuses any version it does not know rather than
guessing at the layout.
"""

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from gateway.vault import errors, kdf, sealing

HEADER_VERSION = 1
KDF_ALGORITHM = "argon2id"
MIN_SALT_BYTES = 16
WRAPPED_DEK_BYTES = sealing.DEK_BYTES + sealing.TAG_BYTES

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class VaultHeader:
    """What it takes, with the password, to recover the data key; `dek_id` names that key."""

    kdf_params: kdf.KdfParams
    salt: bytes
    wrapped_dek_nonce: bytes
    wrapped_dek: bytes
    dek_id: bytes
    version: int = HEADER_VERSION

    def to_json(self) -> bytes:
        """The stored form: a JSON object whose keys never change meaning within one `version`."""
        return orjson.dumps(
            {
                "version": self.version,
                "kdf": {
                    "algorithm": KDF_ALGORITHM,
                    "time_cost": self.kdf_params.time_cost,
                    "memory_kib": self.kdf_params.memory_kib,
                    "parallelism": self.kdf_params.parallelism,
                },
                "salt": _b64(self.salt),
                "wrapped_dek": {"nonce": _b64(self.wrapped_dek_nonce), "ciphertext": _b64(self.wrapped_dek)},
                "dek_id": self.dek_id.hex(),
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> "VaultHeader":
        """Read a stored header, raising `errors.UnsupportedFormat` on an unknown version or any malformation."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise errors.UnsupportedFormat(f"vault header is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise errors.UnsupportedFormat("vault header is not a JSON object")
        version = _field(doc, "version", int)
        if version != HEADER_VERSION:
            raise errors.UnsupportedFormat(
                f"vault header version {version} is unknown; this build reads version {HEADER_VERSION}"
            )
        kdf_doc = _field(doc, "kdf", dict)
        algorithm = _field(kdf_doc, "algorithm", str)
        if algorithm != KDF_ALGORITHM:
            raise errors.UnsupportedFormat(f"vault header names KDF {algorithm!r}; only {KDF_ALGORITHM} is known")
        try:
            params = kdf.KdfParams(
                time_cost=_field(kdf_doc, "time_cost", int),
                memory_kib=_field(kdf_doc, "memory_kib", int),
                parallelism=_field(kdf_doc, "parallelism", int),
            )
        except ValueError as exc:
            raise errors.UnsupportedFormat(f"vault header KDF parameters are out of range: {exc}") from exc
        wrapped = _field(doc, "wrapped_dek", dict)
        return cls(
            kdf_params=params,
            salt=_bytes_field(doc, "salt", _unb64, MIN_SALT_BYTES, None),
            wrapped_dek_nonce=_bytes_field(wrapped, "nonce", _unb64, sealing.NONCE_BYTES, sealing.NONCE_BYTES),
            wrapped_dek=_bytes_field(wrapped, "ciphertext", _unb64, WRAPPED_DEK_BYTES, WRAPPED_DEK_BYTES),
            dek_id=_bytes_field(doc, "dek_id", bytes.fromhex, sealing.DEK_ID_BYTES, sealing.DEK_ID_BYTES),
            version=version,
        )


def _field(doc: Any, name: str, kind: type[_T]) -> _T:
    if not isinstance(doc, dict) or name not in doc:
        raise errors.UnsupportedFormat(f"vault header is missing field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise errors.UnsupportedFormat(f"vault header field {name!r} is not of type {kind.__name__}")
    return value


def _bytes_field(doc: Any, name: str, decode: Callable[[str], bytes], min_bytes: int, max_bytes: int | None) -> bytes:
    try:
        value = decode(_field(doc, name, str))
    except (ValueError, binascii.Error) as exc:
        raise errors.UnsupportedFormat(f"vault header field {name!r} is not properly encoded") from exc
    if len(value) < min_bytes or (max_bytes is not None and len(value) > max_bytes):
        expected = f"{min_bytes}" if min_bytes == max_bytes else f"at least {min_bytes}"
        raise errors.UnsupportedFormat(f"vault header field {name!r} has {len(value)} bytes, expected {expected}")
    return value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
