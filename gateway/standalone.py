"""Standalone mode: the manifests of a folder applied to the store through the operator's own path.

Loading a folder runs the same validation, reconciliation and transactional write the operator uses, so a
folder that works on a laptop works in a cluster. What a cluster keeps in Secrets comes, here, from the
environment or from files laid out like a mounted Secret:

* ``TOKENHUB_SECRET_<NAME>_<KEY>`` - the Secret's name and key upper-cased, other characters as ``_``
  (``apiKeySecretRef: {name: openai-credentials, key: apiKey}`` -> ``TOKENHUB_SECRET_OPENAI_CREDENTIALS_APIKEY``);
* ``<secrets dir>/<name>/<key>`` - ``TOKENHUB_SECRETS_DIR``, by default ``<data dir>/secrets``.

A Provider whose Secret is found nowhere, or holds no usable credential (``config.credentials``) or CA bundle
(``config.ca_bundles``), is still stored, and reported as not routable until it is; one whose URL the egress
policy refuses outright is stored too, with a warning (the gateways leave it out).

An ApiKey resource gets its key issued on first apply and written - as the operator writes it to a Secret - to
``<data dir>/keys/<namespace>/<name>`` (mode 0600); only its hash is stored.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import re
import secrets
import urllib.parse
from collections.abc import Callable, Mapping

from gateway import settings as settings_mod
from gateway.config import ca_bundles, credentials, documents, egress, manifests, reconcile, specs
from gateway.store import config_repo, vault_repo

log = logging.getLogger(__name__)
OWNER = "manifest"


def secret_env_name(name: str, key: str) -> str:
    return "TOKENHUB_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{name}_{key}".upper())


@dataclasses.dataclass(frozen=True)
class SecretSource:
    env: Mapping[str, str]
    directory: pathlib.Path

    def resolve(self, ref: specs.SecretKeyRef) -> bytes | None:
        value = self.env.get(secret_env_name(ref.name, ref.key))
        if value:
            return value.encode()
        path = self.directory / ref.name / ref.key
        try:
            return path.read_bytes().strip() or None
        except OSError:
            return None


def generated_password_path(settings: settings_mod.Settings) -> pathlib.Path:
    return settings.data_dir / "vault-password"


def existing_vault_password(settings: settings_mod.Settings) -> str | None:
    """The configured password, else the one an earlier standalone run generated in the data directory, if any.

    A restart of ``tokenhub serve`` without ``-f`` on a data directory made with ``-f`` must open the credentials
    that the first run sealed with the generated password.
    """
    if settings.vault_password:
        return settings.vault_password
    path = generated_password_path(settings)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    return None


def vault_password(settings: settings_mod.Settings) -> str:
    """The configured password, or a generated one kept (0600) in the data directory for laptop use."""
    existing = existing_vault_password(settings)
    if existing is not None:
        return existing
    path = generated_password_path(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(password, encoding="utf-8")
    log.info("generated a vault password in %s (set TOKENHUB_VAULT_PASSWORD in production)", path)
    return password


@dataclasses.dataclass(frozen=True)
class ApplyReport:
    result: config_repo.ApplyResult
    unresolved: tuple[str, ...]
    issued: tuple[pathlib.Path, ...] = ()


def write_private(path: pathlib.Path, text: str) -> None:
    """Write a secret readable by its owner only, replacing any previous file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def _resolve(
    doc: documents.Document, ref: specs.SecretKeyRef, source: SecretSource, judge: Callable[[bytes], str | None]
) -> tuple[bytes | None, str | None]:
    """The Secret key's bytes when found and usable, else a line saying why not."""
    value = source.resolve(ref)
    if value is None:
        return None, (
            f"{doc.ref}: Secret {ref.name!r} key {ref.key!r} not found "
            f"(set {secret_env_name(ref.name, ref.key)} or write {source.directory / ref.name / ref.key})"
        )
    invalid = judge(value)
    if invalid is not None:
        return None, f"{doc.ref}: Secret {ref.name!r} key {ref.key!r} {invalid}; it is not used"
    return value, None


def desired_credentials(
    docs: list[documents.Document], source: SecretSource
) -> tuple[dict[documents.ObjectRef, bytes], list[str]]:
    """Each Provider's credential and CA bundle (under ``ca_bundles.ref_of``), and what could not be resolved."""
    found: dict[documents.ObjectRef, bytes] = {}
    unresolved: list[str] = []
    for doc in docs:
        if not isinstance(doc.spec, specs.ProviderSpec):
            continue
        wanted = (
            (doc.ref, doc.spec.api_key_secret_ref, credentials.invalid_reason),
            (ca_bundles.ref_of(doc.ref), doc.spec.ca_bundle_secret_ref, ca_bundles.invalid_reason),
        )
        for ref, secret, judge in wanted:
            if secret is None:
                continue
            value, why = _resolve(doc, secret, source, judge)
            if value is not None:
                found[ref] = value
            elif why is not None:
                unresolved.append(why)
    return found, unresolved


def egress_refusals(docs: list[documents.Document], policy: egress.Policy) -> list[str]:
    """Provider URLs whose host the policy refuses outright: the gateways will leave these Providers out."""
    found = []
    for doc in docs:
        if isinstance(doc.spec, specs.ProviderSpec):
            for url in doc.spec.urls:
                refused = policy.host_refusal(urllib.parse.urlsplit(url).hostname or "")
                if refused is not None:
                    found.append(f"{doc.ref}: {url} is refused by the egress policy ({refused}); it will not be served")
    return found


async def apply_documents(
    url: str,
    docs: list[documents.Document],
    source: SecretSource,
    cipher: config_repo.CredentialCipher,
    *,
    prune: bool,
    keys_dir: pathlib.Path | None = None,
) -> ApplyReport:
    """Apply documents in one transaction; ApiKeys without a key get one, written under ``keys_dir``."""
    desired = [reconcile.DesiredObject.of(doc) for doc in docs]
    credentials, unresolved = desired_credentials(docs, source)
    written: list[pathlib.Path] = []

    def planner(current: config_repo.CurrentState) -> reconcile.ChangeSet:
        changes = reconcile.plan(desired, current.objects, owner=OWNER, prune=prune)
        others = [ref for ref, stored in current.objects.items() if stored.owner != OWNER]
        others += [ca_bundles.ref_of(ref) for ref in others if ref.kind == "Provider"]
        creds = reconcile.plan_credentials(credentials, current.credentials, keep=others)
        issue = reconcile.keys_to_issue(desired, current.keyed) if keys_dir is not None else ()
        return dataclasses.replace(reconcile.with_credentials(changes, creds), issue_keys=issue)

    def deliver(issued: config_repo.IssuedKeys) -> None:
        assert keys_dir is not None
        for ref, key in issued:
            path = keys_dir / ref.namespace / ref.name
            write_private(path, key.full_key)
            written.append(path)
            log.info("issued a key for %s into %s", ref, path)

    result = await config_repo.apply(url, planner, owner=OWNER, cipher=cipher, deliver_keys=deliver)
    return ApplyReport(result, tuple(unresolved), tuple(written))


async def apply_path(url: str, path: pathlib.Path, settings: settings_mod.Settings, *, prune: bool) -> ApplyReport:
    """Validate every manifest under ``path`` (raising ``ConfigError`` with all problems) and apply them."""
    docs = manifests.load(path)
    cipher = await vault_repo.open_or_create(url, vault_password(settings))
    source = SecretSource(settings.secret_env, settings.resolved_secrets_dir)
    report = await apply_documents(url, docs, source, cipher, prune=prune, keys_dir=settings.data_dir / "keys")
    refused = egress_refusals(docs, settings.egress().policy)
    return dataclasses.replace(report, unresolved=(*report.unresolved, *refused)) if refused else report
