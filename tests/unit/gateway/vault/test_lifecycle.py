import dataclasses
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import vault

FAST = vault.KdfParams.fast_for_tests()
PASSWORD = "correct horse battery"
AAD = vault.aad_for("Provider", "default", "openai")
passwords = st.text(min_size=vault.MIN_PASSWORD_CHARS, max_size=40).filter(
    lambda text: len(unicodedata.normalize("NFC", text)) >= vault.MIN_PASSWORD_CHARS
)


def test_the_right_password_unlocks_a_vault_that_opens_its_credentials() -> None:
    created, header = vault.create(PASSWORD, FAST)
    blob = created.seal(b"sk-live", AAD)

    unlocked = vault.unlock(PASSWORD, header)

    assert unlocked.open(blob, AAD) == b"sk-live"
    assert unlocked.dek_id == created.dek_id == header.dek_id


@settings(max_examples=50)
@given(passwords, st.text())
def test_a_wrong_password_is_refused_instead_of_unlocking_to_garbage(password: str, wrong: str) -> None:
    if unicodedata.normalize("NFC", password) == unicodedata.normalize("NFC", wrong):
        return
    _, header = vault.create(password, FAST)

    with pytest.raises(vault.WrongPassword):
        vault.unlock(wrong, header)


def test_the_same_password_typed_in_another_unicode_form_unlocks() -> None:
    composed = "Passwort-Müller-2024"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    _, header = vault.create(composed, FAST)

    vault.unlock(decomposed, header)


def test_a_header_altered_in_storage_is_refused_at_unlock() -> None:
    _, header = vault.create(PASSWORD, FAST)
    other_id = bytes(b ^ 0xFF for b in header.dek_id)

    with pytest.raises(vault.WrongPassword):
        vault.unlock(PASSWORD, dataclasses.replace(header, dek_id=other_id))


@pytest.mark.parametrize("password", ["", "changeme", "x" * (vault.MIN_PASSWORD_CHARS - 1)])
def test_creating_a_vault_with_a_short_password_is_refused(password: str) -> None:
    with pytest.raises(vault.WeakPassword, match=f"at least {vault.MIN_PASSWORD_CHARS}"):
        vault.create(password, FAST)


def test_a_password_of_exactly_the_minimum_length_is_accepted() -> None:
    vault.create("x" * vault.MIN_PASSWORD_CHARS, FAST)


@settings(max_examples=25)
@given(st.binary(), passwords)
def test_after_rotation_the_new_password_opens_old_credentials_and_the_old_one_is_refused(
    plaintext: bytes, new_password: str
) -> None:
    if unicodedata.normalize("NFC", new_password) == PASSWORD:
        return
    created, header = vault.create(PASSWORD, FAST)
    blob = created.seal(plaintext, AAD)

    rotated = vault.rotate_password(PASSWORD, new_password, header)

    assert vault.unlock(new_password, rotated).open(blob, AAD) == plaintext
    with pytest.raises(vault.WrongPassword):
        vault.unlock(PASSWORD, rotated)


def test_rotation_keeps_the_data_key_and_draws_a_new_salt() -> None:
    _, header = vault.create(PASSWORD, FAST)

    rotated = vault.rotate_password(PASSWORD, "a much better passphrase", header)

    assert rotated.dek_id == header.dek_id
    assert rotated.salt != header.salt
    assert rotated.kdf_params == header.kdf_params


def test_rotation_can_raise_the_kdf_cost() -> None:
    _, header = vault.create(PASSWORD, FAST)
    stronger = vault.KdfParams(time_cost=2, memory_kib=64, parallelism=1)

    rotated = vault.rotate_password(PASSWORD, "a much better passphrase", header, stronger)

    assert rotated.kdf_params == stronger
    vault.unlock("a much better passphrase", rotated)


def test_rotation_with_a_wrong_old_password_is_refused_cleanly() -> None:
    _, header = vault.create(PASSWORD, FAST)

    with pytest.raises(vault.WrongPassword):
        vault.rotate_password("not the password", "a much better passphrase", header)


def test_rotation_to_a_short_password_is_refused() -> None:
    _, header = vault.create(PASSWORD, FAST)

    with pytest.raises(vault.WeakPassword):
        vault.rotate_password(PASSWORD, "short", header)


def test_create_uses_the_rfc_9106_setting_when_no_parameters_are_given() -> None:
    _, header = vault.create(PASSWORD)

    assert header.kdf_params == vault.KdfParams.default()
    assert len(header.salt) == 16


def test_every_vault_error_shares_one_base() -> None:
    for error in (vault.WrongPassword, vault.TamperedCiphertext, vault.UnsupportedFormat, vault.WeakPassword):
        assert issubclass(error, vault.VaultError)
