"""The credential vault: an Argon2id-derived key wraps a random data key that seals credentials with AES-GCM."""

from gateway.vault.errors import TamperedCiphertext, UnsupportedFormat, VaultError, WeakPassword, WrongPassword
from gateway.vault.header import VaultHeader
from gateway.vault.kdf import MIN_PASSWORD_CHARS, KdfParams
from gateway.vault.lifecycle import create, rotate_password, unlock
from gateway.vault.sealing import Vault, aad_for, sealed_under

__all__ = [
    "MIN_PASSWORD_CHARS",
    "KdfParams",
    "TamperedCiphertext",
    "UnsupportedFormat",
    "Vault",
    "VaultError",
    "VaultHeader",
    "WeakPassword",
    "WrongPassword",
    "aad_for",
    "create",
    "rotate_password",
    "sealed_under",
    "unlock",
]
