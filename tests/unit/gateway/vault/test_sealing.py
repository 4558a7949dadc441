import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import vault
from gateway.vault import sealing

AAD = vault.aad_for("Provider", "default", "openai")


def fast_vault(seed: int = 0) -> vault.Vault:
    unlocked, _ = vault.create(
        "correct horse battery", vault.KdfParams.fast_for_tests(), random_bytes=random.Random(seed).randbytes
    )
    return unlocked


@given(st.binary(), st.binary())
def test_any_plaintext_opens_to_itself_under_the_same_associated_data(plaintext: bytes, aad: bytes) -> None:
    unlocked = fast_vault()

    assert unlocked.open(unlocked.seal(plaintext, aad), aad) == plaintext


def test_an_empty_credential_can_be_sealed() -> None:
    unlocked = fast_vault()

    assert unlocked.open(unlocked.seal(b"", AAD), AAD) == b""


def test_sealing_the_same_value_twice_gives_different_blobs() -> None:
    unlocked, _ = vault.create("correct horse battery", vault.KdfParams.fast_for_tests())

    assert unlocked.seal(b"sk-live", AAD) != unlocked.seal(b"sk-live", AAD)


def test_the_blob_layout_is_version_key_id_nonce_then_ciphertext() -> None:
    unlocked = fast_vault()

    blob = unlocked.seal(b"sk-live", AAD)

    assert blob[0] == 1
    assert blob[1:9] == unlocked.dek_id
    assert len(blob) == 1 + 8 + 12 + len(b"sk-live") + 16
    assert vault.sealed_under(blob) == unlocked.dek_id


def test_flipping_any_single_bit_of_a_blob_makes_it_fail_to_open() -> None:
    unlocked = fast_vault()
    blob = unlocked.seal(b"sk-ant-api03", AAD)

    for bit in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        expected = vault.UnsupportedFormat if bit < 8 else vault.TamperedCiphertext
        with pytest.raises(expected):
            unlocked.open(bytes(flipped), AAD)


@given(plaintext=st.binary(max_size=64), aad=st.binary(max_size=64), data=st.data())
def test_a_random_bit_flip_is_refused_for_any_plaintext_and_resource(
    plaintext: bytes, aad: bytes, data: st.DataObject
) -> None:
    unlocked = fast_vault()
    blob = bytearray(unlocked.seal(plaintext, aad))
    bit = data.draw(st.integers(min_value=8, max_value=len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)

    with pytest.raises(vault.TamperedCiphertext):
        unlocked.open(bytes(blob), aad)


def test_every_truncation_of_a_blob_is_refused() -> None:
    unlocked = fast_vault()
    blob = unlocked.seal(b"sk-live-0123456789", AAD)

    for length in range(1, len(blob)):
        with pytest.raises(vault.TamperedCiphertext):
            unlocked.open(blob[:length], AAD)


def test_a_short_blob_is_reported_as_truncated() -> None:
    unlocked = fast_vault()

    with pytest.raises(vault.TamperedCiphertext, match="truncated: 20 bytes"):
        unlocked.open(unlocked.seal(b"", AAD)[:20], AAD)
    with pytest.raises(vault.TamperedCiphertext, match="empty"):
        unlocked.open(b"", AAD)


def test_bytes_appended_to_a_blob_are_refused() -> None:
    unlocked = fast_vault()

    with pytest.raises(vault.TamperedCiphertext):
        unlocked.open(unlocked.seal(b"sk-live", AAD) + b"\x00", AAD)


@given(st.binary(), st.binary(), st.binary())
def test_a_blob_opened_for_another_resource_is_refused(plaintext: bytes, aad: bytes, other: bytes) -> None:
    if aad == other:
        return
    unlocked = fast_vault()

    with pytest.raises(vault.TamperedCiphertext, match="another resource"):
        unlocked.open(unlocked.seal(plaintext, aad), other)


def test_a_credential_moved_to_another_provider_does_not_open() -> None:
    unlocked = fast_vault()
    blob = unlocked.seal(b"sk-live", vault.aad_for("Provider", "team-a", "openai"))

    with pytest.raises(vault.TamperedCiphertext):
        unlocked.open(blob, vault.aad_for("Provider", "team-b", "openai"))


def test_a_blob_from_another_vault_names_both_data_keys() -> None:
    ours, theirs = fast_vault(seed=1), fast_vault(seed=2)
    blob = theirs.seal(b"sk-live", AAD)

    with pytest.raises(vault.TamperedCiphertext) as caught:
        ours.open(blob, AAD)

    assert theirs.dek_id.hex() in str(caught.value)
    assert ours.dek_id.hex() in str(caught.value)


def test_a_blob_of_an_unknown_format_version_is_unsupported() -> None:
    unlocked = fast_vault()
    blob = unlocked.seal(b"sk-live", AAD)

    with pytest.raises(vault.UnsupportedFormat, match="version 2 is unknown"):
        unlocked.open(b"\x02" + blob[1:], AAD)


def test_the_data_key_never_appears_in_repr_or_str() -> None:
    dek = bytes(range(32))
    unlocked = vault.Vault(dek)

    for shown in (repr(unlocked), str(unlocked)):
        assert dek.hex() not in shown
        assert repr(dek) not in shown
        assert sealing.dek_id(dek).hex() in shown


def test_a_data_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        vault.Vault(b"\x00" * 16)


def test_associated_data_names_kind_namespace_and_name() -> None:
    assert vault.aad_for("Provider", "default", "openai") == b"Provider/default/openai"


@pytest.mark.parametrize(("kind", "namespace", "name"), [("", "ns", "n"), ("Provider", "a/b", "n"), ("P", "ns", "")])
def test_associated_data_refuses_ambiguous_parts(kind: str, namespace: str, name: str) -> None:
    with pytest.raises(ValueError, match="free of '/'"):
        vault.aad_for(kind, namespace, name)
