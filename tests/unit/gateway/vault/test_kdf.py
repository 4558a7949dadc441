import pytest

from gateway import vault
from gateway.vault import kdf

FAST = vault.KdfParams.fast_for_tests()
SALT = b"\x00" * 16


def test_the_default_setting_is_rfc_9106s_second_recommendation() -> None:
    assert vault.KdfParams.default() == vault.KdfParams(time_cost=3, memory_kib=64 * 1024, parallelism=4)


@pytest.mark.parametrize(
    ("time_cost", "memory_kib", "parallelism"),
    [(0, 64, 1), (65, 64, 1), (1, 7, 1), (1, 31, 4), (1, 4 * 1024 * 1024 + 1, 1), (1, 64, 0), (1, 1024, 65)],
)
def test_kdf_parameters_outside_argon2s_or_a_sane_range_are_refused(
    time_cost: int, memory_kib: int, parallelism: int
) -> None:
    with pytest.raises(ValueError, match="Argon2"):
        vault.KdfParams(time_cost=time_cost, memory_kib=memory_kib, parallelism=parallelism)


def test_the_derived_key_depends_on_password_salt_and_parameters() -> None:
    base = kdf.derive_kek("correct horse battery", SALT, FAST)

    assert len(base) == 32
    assert kdf.derive_kek("correct horse battery", SALT, FAST) == base
    assert kdf.derive_kek("correct horse batterY", SALT, FAST) != base
    assert kdf.derive_kek("correct horse battery", b"\x01" * 16, FAST) != base
    assert kdf.derive_kek("correct horse battery", SALT, vault.KdfParams(2, 8, 1)) != base


def test_the_password_floor_counts_characters_not_bytes() -> None:
    kdf.check_password("é" * vault.MIN_PASSWORD_CHARS)
    with pytest.raises(vault.WeakPassword):
        kdf.check_password("é" * (vault.MIN_PASSWORD_CHARS - 1))
