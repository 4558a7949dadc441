"""Creating, unlocking and re-keying a vault: the password-derived key wraps one random data key.

The wrap is AES-256-GCM, so its tag doubles as the password verifier: a wrong password is refused at unlock
instead of yielding a key that decrypts garbage (the older system's worst vault bug). Changing the password
re-wraps the same data key under a fresh salt, so every sealed credential stays valid without re-encryption.
"""

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.vault import errors, header, kdf, sealing


def create(
    password: str,
    params: kdf.KdfParams | None = None,
    *,
    random_bytes: sealing.RandomBytes = secrets.token_bytes,
) -> tuple[sealing.Vault, header.VaultHeader]:
    """A new vault with a fresh data key, and the header to store for unlocking it later."""
    kdf.check_password(password)
    dek = random_bytes(sealing.DEK_BYTES)
    vault_header = _wrap(dek, password, params or kdf.KdfParams.default(), random_bytes)
    return sealing.Vault(dek, random_bytes=random_bytes), vault_header


def unlock(
    password: str,
    vault_header: header.VaultHeader,
    *,
    random_bytes: sealing.RandomBytes = secrets.token_bytes,
) -> sealing.Vault:
    """The vault `vault_header` describes, or `errors.WrongPassword` if `password` is not its password."""
    return sealing.Vault(_unwrap(password, vault_header), random_bytes=random_bytes)


def rotate_password(
    old_password: str,
    new_password: str,
    vault_header: header.VaultHeader,
    params: kdf.KdfParams | None = None,
    *,
    random_bytes: sealing.RandomBytes = secrets.token_bytes,
) -> header.VaultHeader:
    """A header for the same data key under `new_password` (and `params`, else the current ones)."""
    kdf.check_password(new_password)
    dek = _unwrap(old_password, vault_header)
    return _wrap(dek, new_password, params or vault_header.kdf_params, random_bytes)


def _wrap(dek: bytes, password: str, params: kdf.KdfParams, random_bytes: sealing.RandomBytes) -> header.VaultHeader:
    salt = random_bytes(header.MIN_SALT_BYTES)
    nonce = random_bytes(sealing.NONCE_BYTES)
    dek_id = sealing.dek_id(dek)
    kek = kdf.derive_kek(password, salt, params)
    return header.VaultHeader(
        kdf_params=params,
        salt=salt,
        wrapped_dek_nonce=nonce,
        wrapped_dek=AESGCM(kek).encrypt(nonce, dek, _wrap_aad(dek_id)),
        dek_id=dek_id,
    )


def _unwrap(password: str, vault_header: header.VaultHeader) -> bytes:
    kek = kdf.derive_kek(password, vault_header.salt, vault_header.kdf_params)
    try:
        return AESGCM(kek).decrypt(
            vault_header.wrapped_dek_nonce, vault_header.wrapped_dek, _wrap_aad(vault_header.dek_id)
        )
    except InvalidTag:
        raise errors.WrongPassword("the vault password does not open this vault") from None


def _wrap_aad(dek_id: bytes) -> bytes:
    # Binding the id means a header cannot claim to hold a data key other than the one it wraps.
    return b"tokenhub-vault-dek/v1/" + dek_id
