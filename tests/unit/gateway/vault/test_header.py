import base64

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import vault

FAST = vault.KdfParams.fast_for_tests()

headers = st.builds(
    vault.VaultHeader,
    kdf_params=st.builds(
        vault.KdfParams,
        time_cost=st.integers(1, 64),
        memory_kib=st.integers(512, 4 * 1024 * 1024),
        parallelism=st.integers(1, 64),
    ),
    salt=st.binary(min_size=16, max_size=64),
    wrapped_dek_nonce=st.binary(min_size=12, max_size=12),
    wrapped_dek=st.binary(min_size=48, max_size=48),
    dek_id=st.binary(min_size=8, max_size=8),
)


def stored_header() -> dict[str, object]:
    _, header = vault.create("correct horse battery", FAST)
    doc: dict[str, object] = orjson.loads(header.to_json())
    return doc


@given(headers)
def test_a_header_survives_storage_unchanged(header: vault.VaultHeader) -> None:
    assert vault.VaultHeader.from_json(header.to_json()) == header


def test_a_stored_header_still_unlocks_its_vault() -> None:
    created, header = vault.create("correct horse battery", FAST)

    restored = vault.VaultHeader.from_json(header.to_json().decode())

    assert vault.unlock("correct horse battery", restored).dek_id == created.dek_id


def test_the_stored_form_is_readable_json_with_an_explicit_version() -> None:
    header = vault.VaultHeader(
        kdf_params=vault.KdfParams.default(),
        salt=b"\x01" * 16,
        wrapped_dek_nonce=b"\x02" * 12,
        wrapped_dek=b"\x03" * 48,
        dek_id=b"\xab" * 8,
    )

    assert orjson.loads(header.to_json()) == {
        "version": 1,
        "kdf": {"algorithm": "argon2id", "time_cost": 3, "memory_kib": 65536, "parallelism": 4},
        "salt": base64.b64encode(b"\x01" * 16).decode(),
        "wrapped_dek": {
            "nonce": base64.b64encode(b"\x02" * 12).decode(),
            "ciphertext": base64.b64encode(b"\x03" * 48).decode(),
        },
        "dek_id": "ab" * 8,
    }


def test_a_header_of_an_unknown_version_is_refused_by_name() -> None:
    doc = stored_header() | {"version": 2}

    with pytest.raises(vault.UnsupportedFormat, match="version 2 is unknown; this build reads version 1"):
        vault.VaultHeader.from_json(orjson.dumps(doc))


def replace(doc: dict[str, object], path: tuple[str, ...], value: object) -> dict[str, object]:
    if len(path) == 1:
        return doc | {path[0]: value}
    inner = doc[path[0]]
    assert isinstance(inner, dict)
    return doc | {path[0]: replace(inner, path[1:], value)}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("version",), "1", "'version' is not of type int"),
        (("version",), True, "'version' is not of type int"),
        (("kdf",), [], "'kdf' is not of type dict"),
        (("kdf", "algorithm"), "scrypt", "names KDF 'scrypt'"),
        (("kdf", "memory_kib"), 2**40, "out of range"),
        (("kdf", "time_cost"), 0, "out of range"),
        (("salt",), "not base64!", "'salt' is not properly encoded"),
        (("salt",), base64.b64encode(b"\x00" * 8).decode(), "'salt' has 8 bytes, expected at least 16"),
        (("wrapped_dek", "nonce"), base64.b64encode(b"\x00" * 16).decode(), "'nonce' has 16 bytes, expected 12"),
        (("wrapped_dek", "ciphertext"), base64.b64encode(b"").decode(), "'ciphertext' has 0 bytes"),
        (("dek_id",), "zz", "'dek_id' is not properly encoded"),
        (("dek_id",), "ab", "'dek_id' has 1 bytes, expected 8"),
    ],
)
def test_a_malformed_header_is_refused_with_the_field_named(path: tuple[str, ...], value: object, message: str) -> None:
    doc = replace(stored_header(), path, value)

    with pytest.raises(vault.UnsupportedFormat, match=message):
        vault.VaultHeader.from_json(orjson.dumps(doc))


@pytest.mark.parametrize("field", ["version", "kdf", "salt", "wrapped_dek", "dek_id"])
def test_a_header_missing_a_field_is_refused(field: str) -> None:
    doc = stored_header()
    del doc[field]

    with pytest.raises(vault.UnsupportedFormat, match=f"missing field '{field}'"):
        vault.VaultHeader.from_json(orjson.dumps(doc))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        ("\u00e9", "not JSON"),
        (b"[]", "not a JSON object"),
        (b"null", "not a JSON object"),
    ],
)
def test_text_that_is_not_a_header_object_is_refused(data: bytes | str, message: str) -> None:
    with pytest.raises(vault.UnsupportedFormat, match=message):
        vault.VaultHeader.from_json(data)
