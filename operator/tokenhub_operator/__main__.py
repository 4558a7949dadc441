"""``tokenhub-operator`` / ``python -m tokenhub_operator``: run the operator, or ``check`` its configuration.

Equivalent to ``kopf run -m tokenhub_operator.handlers`` with the namespaces and peering taken from the
environment: ``TOKENHUB_WATCH_NAMESPACES`` (comma-separated; empty watches all), ``TOKENHUB_OPERATOR_PRIORITY``
(give each replica a distinct one: the highest active replica works, the others stand by). The schema is checked
(``TOKENHUB_MIGRATE``) before Kopf starts, so a database that is behind stops the process with one clear line.
``check`` does the same start-up work without Kubernetes: settings, schema, vault password; exit 0 when all hold.
"""

from __future__ import annotations

import asyncio
import sys

import kopf

from gateway.store import errors, migrate, vault_repo
from tokenhub_operator import handlers  # noqa: F401  # registers the handlers with Kopf
from tokenhub_operator import settings as settings_mod


async def _prepare(config: settings_mod.OperatorSettings, *, check_only: bool) -> None:
    await migrate.ensure(config.database_url, "check" if check_only else config.migrate)
    if check_only:
        await vault_repo.open_or_create(config.database_url, config.vault_password)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["check"]):
        sys.stderr.write("usage: tokenhub-operator [check]\n")
        return 2
    try:
        config = settings_mod.OperatorSettings.from_env()
    except settings_mod.SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    try:
        asyncio.run(_prepare(config, check_only=bool(args)))
    except errors.StoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if args:
        sys.stdout.write("operator configuration is usable: schema current, vault password opens the vault\n")
        return 0
    kopf.configure(verbose=config.verbose)
    kwargs: dict[str, object] = {"priority": config.priority, "peering_name": config.peering_name}
    if config.namespaces:
        kwargs["namespaces"] = config.namespaces
    else:
        kwargs["clusterwide"] = True
    asyncio.run(kopf.operator(**kwargs))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
