"""Derivation of the key-encryption key from the vault password with Argon2id, and the password floor.

Argon2id costs an attacker memory as well as time per guess; the parameters travel in the vault header, so a
stronger setting later only needs a password rotation. The password is NFC-normalised before hashing so the
same characters typed on any system derive the same key.
"""

import unicodedata
from dataclasses import dataclass

from argon2 import low_level

from gateway.vault import errors

MIN_PASSWORD_CHARS = 12
"""Vault passwords are usually generated into a Secret; the floor refuses placeholders such as `changeme`."""

KEK_BYTES = 32
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_TIME_COST = 64
MAX_PARALLELISM = 64


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters; the bounds refuse a header that would make unlocking exhaust the host."""

    time_cost: int
    memory_kib: int
    parallelism: int

    def __post_init__(self) -> None:
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise ValueError(f"Argon2 parallelism must be 1..{MAX_PARALLELISM}, got {self.parallelism}")
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            raise ValueError(f"Argon2 time cost must be 1..{MAX_TIME_COST}, got {self.time_cost}")
        if not 8 * self.parallelism <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError(
                f"Argon2 memory must be {8 * self.parallelism}..{MAX_MEMORY_KIB} KiB, got {self.memory_kib}"
            )

    @classmethod
    def default(cls) -> "KdfParams":
        """RFC 9106 §4's second recommended option (for hosts that cannot spare 2 GiB): t=3, 64 MiB, 4 lanes.

        Measured at about 0.15 s per derivation; it runs once per unlock or rotation, never per request.
        """
        return cls(time_cost=3, memory_kib=64 * 1024, parallelism=4)

    @classmethod
    def fast_for_tests(cls) -> "KdfParams":
        """The cheapest setting Argon2 accepts; tests only, it offers no resistance to guessing."""
        return cls(time_cost=1, memory_kib=8, parallelism=1)


def check_password(password: str) -> None:
    """Raise `errors.WeakPassword` unless `password` is acceptable for a new vault or a rotation."""
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_PASSWORD_CHARS:
        raise errors.WeakPassword(f"vault password has {length} characters; at least {MIN_PASSWORD_CHARS} are required")


def derive_kek(password: str, salt: bytes, params: KdfParams) -> bytes:
    """The 256-bit key-encryption key for `password` under `salt` and `params`."""
    return low_level.hash_secret_raw(
        secret=unicodedata.normalize("NFC", password).encode(),
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEK_BYTES,
        type=low_level.Type.ID,
    )
