"""The vault header in Postgres, and the vault seen as a ``CredentialCipher`` bound to resource identities.

The header (salt, KDF parameters, wrapped data key) is stored once; whoever starts first creates it and every
other writer or gateway unlocks the same one. A password that does not open it is refused loudly
(``VaultMismatch``), never used to seal credentials under a second, unrelated key.
"""

from __future__ import annotations

import psycopg

from gateway import vault
from gateway.config import documents
from gateway.store import errors


class VaultCipher:
    """Seals credentials with the owning resource as associated data, so a blob cannot be moved to another."""

    def __init__(self, unlocked: vault.Vault) -> None:
        self._vault = unlocked

    def __repr__(self) -> str:
        return "VaultCipher(<unlocked>)"

    def seal(self, ref: documents.ObjectRef, plaintext: bytes) -> bytes:
        return self._vault.seal(plaintext, vault.aad_for(ref.kind, ref.namespace, ref.name))

    def open(self, ref: documents.ObjectRef, sealed: bytes) -> bytes:
        return self._vault.open(sealed, vault.aad_for(ref.kind, ref.namespace, ref.name))


def cipher_for(header: bytes, password: str) -> VaultCipher:
    try:
        return VaultCipher(vault.unlock(password, vault.VaultHeader.from_json(header)))
    except vault.WrongPassword as exc:
        raise errors.VaultMismatch(
            "the vault password does not open the vault stored in this database "
            "(TOKENHUB_VAULT_PASSWORD differs from the one it was created with)"
        ) from exc


async def read_header(url: str) -> bytes | None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT header FROM vault")
        row = await cur.fetchone()
    return bytes(row[0]) if row else None


async def open_or_create(url: str, password: str, params: vault.KdfParams | None = None) -> VaultCipher:
    """Unlock the stored vault, creating it first if this database has none (safe when racing)."""
    try:
        header = await read_header(url)
        if header is None:
            unlocked, new_header = vault.create(password, params)
            async with await psycopg.AsyncConnection.connect(url) as conn:
                await conn.execute(
                    "INSERT INTO vault (singleton, header) VALUES (true, %s) ON CONFLICT DO NOTHING",
                    (new_header.to_json(),),
                )
                await conn.commit()
            header = await read_header(url)
            assert header is not None
            if header == new_header.to_json():
                return VaultCipher(unlocked)
    except psycopg.OperationalError as exc:
        raise errors.StoreUnavailable(f"cannot reach the vault: {exc}") from exc
    return cipher_for(header, password)


async def rotate_password(url: str, old_password: str, new_password: str) -> None:
    """Re-wrap the data key under a new password; sealed credentials stay valid."""
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        cur = await conn.execute("SELECT header FROM vault FOR UPDATE")
        row = await cur.fetchone()
        if row is None:
            raise errors.VaultMismatch("there is no vault in this database yet")
        try:
            header = vault.rotate_password(old_password, new_password, vault.VaultHeader.from_json(bytes(row[0])))
        except vault.WrongPassword as exc:
            raise errors.VaultMismatch("the old vault password is wrong") from exc
        await conn.execute("UPDATE vault SET header = %s, updated_at = now()", (header.to_json(),))
