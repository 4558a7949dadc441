"""`tokenhub apply` semantics on a real Postgres: atomic, idempotent, pruning, credentials sealed."""

from __future__ import annotations

import pathlib
import shutil
import textwrap

import psycopg
import pytest

from gateway import settings as settings_mod
from gateway import standalone
from gateway.config import documents
from gateway.serving import config_source
from gateway.store import config_repo, errors, vault_repo
from gateway.vault import KdfParams

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def settings(tmp_path: pathlib.Path) -> settings_mod.Settings:
    return settings_mod.Settings(
        data_dir=tmp_path / "data",
        vault_password=PASSWORD,
        secret_env={"TOKENHUB_SECRET_OPENAI_CREDENTIALS_APIKEY": "sk-openai-test"},
    )


@pytest.fixture(autouse=True)
async def fast_vault(database_url: str) -> None:
    """Create the vault with cheap KDF parameters so tests do not pay 64 MiB Argon2 per unlock."""
    await vault_repo.open_or_create(database_url, PASSWORD, KdfParams.fast_for_tests())


async def revision(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await config_repo.current_revision(conn)


async def test_apply_writes_everything_and_bumps_the_revision_once(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    report = await standalone.apply_path(database_url, folder, settings, prune=False)
    assert report.result.revision == 1
    assert len(report.result.changes.upserts) == 9
    assert len(report.result.changes.credentials) == 1
    assert any("anthropic-credentials" in line for line in report.unresolved)
    assert await revision(database_url) == 1


async def test_reapplying_the_same_folder_changes_nothing(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    await standalone.apply_path(database_url, folder, settings, prune=False)
    again = await standalone.apply_path(database_url, folder, settings, prune=True)
    assert again.result.changes.empty
    assert await revision(database_url) == 1


async def test_a_changed_price_is_one_new_revision(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    await standalone.apply_path(database_url, folder, settings, prune=False)
    models = folder / "models.yaml"
    models.write_text(models.read_text().replace("inputPer1K: 0.0025", "inputPer1K: 0.003"))
    report = await standalone.apply_path(database_url, folder, settings, prune=False)
    assert [u.ref.name for u in report.result.changes.upserts] == ["gpt-4o"]
    assert await revision(database_url) == 2


async def test_prune_deletes_rows_whose_documents_are_gone(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    await standalone.apply_path(database_url, folder, settings, prune=False)
    (folder / "apikeys.yaml").unlink()
    kept = await standalone.apply_path(database_url, folder, settings, prune=False)
    assert kept.result.changes.empty
    pruned = await standalone.apply_path(database_url, folder, settings, prune=True)
    assert pruned.result.changes.deletes == (documents.ObjectRef("ApiKey", "default", "demo"),)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM config_objects WHERE kind = 'ApiKey'")
        assert await cur.fetchone() == (0,)


async def test_an_invalid_folder_writes_nothing(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    (folder / "zz-broken.yaml").write_text(
        textwrap.dedent(
            """
            apiVersion: tokenhub.io/v1alpha1
            kind: Model
            metadata: {name: orphan}
            spec: {providerRef: nobody, upstreamModel: x}
            """
        )
    )
    with pytest.raises(documents.ConfigError) as info:
        await standalone.apply_path(database_url, folder, settings, prune=False)
    assert "Provider 'nobody' does not exist" in str(info.value)
    assert await revision(database_url) == 0
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM config_objects")
        assert await cur.fetchone() == (0,)


async def test_credentials_are_stored_sealed_and_open_in_the_snapshot(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    await standalone.apply_path(database_url, folder, settings, prune=False)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute("SELECT sealed FROM credentials")
        (sealed,) = await cur.fetchone() or (b"",)
        stored = await config_repo.load(conn)
    assert b"sk-openai-test" not in bytes(sealed)
    assert stored.vault_header is not None
    snap = config_source.compile_stored(stored, vault_repo.cipher_for(stored.vault_header, PASSWORD))
    openai = snap.providers[documents.ObjectRef("Provider", "default", "openai")]
    assert openai.credential == "sk-openai-test"
    assert openai.routable
    assert not snap.providers[documents.ObjectRef("Provider", "default", "anthropic")].routable


async def test_a_changed_secret_is_resealed_and_a_wrong_vault_password_refused(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings, tmp_path: pathlib.Path
) -> None:
    await standalone.apply_path(database_url, folder, settings, prune=False)
    rotated = settings_mod.Settings(
        data_dir=settings.data_dir,
        vault_password=PASSWORD,
        secret_env={"TOKENHUB_SECRET_OPENAI_CREDENTIALS_APIKEY": "sk-rotated"},
    )
    report = await standalone.apply_path(database_url, folder, rotated, prune=False)
    assert [c.ref.name for c in report.result.changes.credentials] == ["openai"]
    assert report.result.revision == 2

    wrong = settings_mod.Settings(data_dir=settings.data_dir, vault_password="not the right password")
    with pytest.raises(errors.VaultMismatch):
        await standalone.apply_path(database_url, folder, wrong, prune=False)
    assert await revision(database_url) == 2


async def test_secrets_resolve_from_files_laid_out_like_a_mounted_secret(
    database_url: str, folder: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    (secrets_dir / "anthropic-credentials").mkdir(parents=True)
    (secrets_dir / "anthropic-credentials" / "apiKey").write_text("sk-ant-file\n")
    settings = settings_mod.Settings(data_dir=tmp_path / "d", vault_password=PASSWORD, secrets_dir=secrets_dir)
    report = await standalone.apply_path(database_url, folder, settings, prune=False)
    assert not any("anthropic" in line for line in report.unresolved)


async def test_a_secret_file_that_is_not_text_is_reported_and_never_stored(
    database_url: str, folder: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    (secrets_dir / "anthropic-credentials").mkdir(parents=True)
    (secrets_dir / "anthropic-credentials" / "apiKey").write_bytes(b"\xff\xfesk-ant")
    settings = settings_mod.Settings(
        data_dir=tmp_path / "d",
        vault_password=PASSWORD,
        secrets_dir=secrets_dir,
        secret_env={"TOKENHUB_SECRET_OPENAI_CREDENTIALS_APIKEY": "sk-openai-test"},
    )
    report = await standalone.apply_path(database_url, folder, settings, prune=False)
    (line,) = [line for line in report.unresolved if "anthropic" in line]
    assert "is not ASCII text (byte 0xff at offset 0); it is not used" in line
    assert [c.ref.name for c in report.result.changes.credentials] == ["openai"]


async def test_an_api_key_is_issued_once_into_a_private_file_and_only_its_hash_is_stored(
    database_url: str, folder: pathlib.Path, settings: settings_mod.Settings
) -> None:
    from gateway import keys

    first = await standalone.apply_path(database_url, folder, settings, prune=False)
    (path,) = first.issued
    assert path == settings.data_dir / "keys" / "default" / "demo"
    assert path.stat().st_mode & 0o777 == 0o600
    full_key = path.read_text().strip()
    parsed = keys.parse(full_key)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT key_id, secret_hash, revision FROM api_keys")
        rows = await cur.fetchall()
    assert rows == [(parsed.public_id, keys.hash_secret(parsed.secret), 1)]
    again = await standalone.apply_path(database_url, folder, settings, prune=False)
    assert again.issued == () and again.result.changes.empty
    assert path.read_text().strip() == full_key
