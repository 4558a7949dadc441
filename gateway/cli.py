"""The ``tokenhub`` command: serve, migrate, apply, validate, crds, keys, version.

Exit codes: 0 success, 1 runtime failure (database unreachable, wrong vault password), 2 invalid input
(every problem is printed, one per line, and nothing is written).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvloop

import gateway
from gateway import keys_cli, standalone
from gateway import settings as settings_mod
from gateway.config import crdgen, documents, manifests
from gateway.store import embedded, errors, migrate

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2


def _run(coro: Coroutine[Any, Any, int]) -> int:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def _with_database(settings: settings_mod.Settings, action: Callable[[str], Awaitable[int]]) -> int:
    pg = None if settings.database_url else embedded.start(settings.data_dir)
    url = settings.database_url or (pg.url if pg else "")
    try:
        await migrate.ensure(url, "auto" if pg is not None else settings.migrate)
        return await action(url)
    finally:
        if pg is not None:
            pg.stop()


def cmd_serve(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    from gateway import server  # imports uvicorn and FastAPI only when serving

    if args.file is not None:
        settings = settings_mod.Settings(**{**settings.__dict__, "config_path": args.file})
    if args.port is not None:
        settings = settings_mod.Settings(**{**settings.__dict__, "port": args.port})
    return _run(server.serve(settings))


def cmd_migrate(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    """Apply the missing migrations (as the schema owner), or with ``--check`` only report them (exit 1)."""

    async def run() -> int:
        pg = None if settings.database_url else embedded.start(settings.data_dir)
        url = settings.database_url or (pg.url if pg else "")
        try:
            if args.check:
                missing = await migrate.pending(url)
                for migration in missing:
                    sys.stdout.write(f"pending {migration.name}\n")
                sys.stdout.write("schema is up to date\n" if not missing else f"{len(missing)} migration(s) pending\n")
                return EXIT_FAILURE if missing else EXIT_OK
            applied = await migrate.migrate(url)
            for migration in migrate.available():
                if migration.version in applied:
                    sys.stdout.write(f"applied {migration.name}\n")
            sys.stdout.write(f"schema is at version {len(migrate.available())}\n")
            for role in args.grant_to:
                await migrate.grant(url, role)
                sys.stdout.write(f"granted row rights to {role}\n")
            return EXIT_OK
        finally:
            if pg is not None:
                pg.stop()

    return _run(run())


def cmd_apply(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    async def action(url: str) -> int:
        report = await standalone.apply_path(url, args.file, settings, prune=args.prune)
        result = report.result
        for line in report.unresolved:
            sys.stderr.write(f"warning: {line}\n")
        for path in report.issued:
            sys.stderr.write(f"issued an API key into {path}\n")
        state = f"revision {result.revision}" if result.changed else f"unchanged at revision {result.revision}"
        sys.stdout.write(f"{result.changes.summary()}; {state}\n")
        return EXIT_OK

    return _run(_with_database(settings, action))


def cmd_validate(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    docs = manifests.load(args.file)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc.ref.kind] = counts.get(doc.ref.kind, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no documents"
    sys.stdout.write(f"{args.file}: valid ({summary})\n")
    return EXIT_OK


def cmd_crds(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    return crdgen.main([str(args.directory)])


def cmd_keys(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    async def action(url: str) -> int:
        result: int = await args.keys_action(url, args)
        return result

    return _run(_with_database(settings, action))


def cmd_version(args: argparse.Namespace, settings: settings_mod.Settings) -> int:
    sys.stdout.write(f"tokenhub {gateway.__version__}\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokenhub", description="Kubernetes-native LLM routing gateway.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway (standalone when -f is given)")
    serve.add_argument("-f", "--file", type=pathlib.Path, help="a manifest file or folder to apply first")
    serve.add_argument("--port", type=int, help="listen port (default TOKENHUB_PORT or 8080)")
    serve.set_defaults(func=cmd_serve)
    mig = sub.add_parser("migrate", help="bring the database schema up to date (run as its owner)")
    mig.add_argument("--check", action="store_true", help="only list pending migrations; exit 1 if any")
    mig.add_argument(
        "--grant-to",
        action="append",
        default=[],
        metavar="ROLE",
        help="after migrating, grant ROLE the row rights the gateway and operator need (repeatable)",
    )
    mig.set_defaults(func=cmd_migrate)
    apply = sub.add_parser("apply", help="validate and write manifests to the store in one transaction")
    apply.add_argument("-f", "--file", type=pathlib.Path, required=True)
    apply.add_argument("--prune", action="store_true", help="delete objects applied before but absent now")
    apply.set_defaults(func=cmd_apply)
    validate = sub.add_parser("validate", help="check manifests without touching the store")
    validate.add_argument("-f", "--file", type=pathlib.Path, required=True)
    validate.set_defaults(func=cmd_validate)
    crds = sub.add_parser("crds", help="write the CustomResourceDefinitions")
    crds.add_argument("directory", type=pathlib.Path, nargs="?", default=pathlib.Path("crds"))
    crds.set_defaults(func=cmd_crds)
    keys_cli.add_parser(sub).set_defaults(func=cmd_keys)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=cmd_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_mod.Settings.from_env()
    except settings_mod.SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INVALID
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    try:
        result: int = args.func(args, settings)
    except documents.ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        sys.stderr.write(f"error: {len(exc.problems)} problem(s); nothing was written\n")
        return EXIT_INVALID
    except errors.StoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILURE
    return result


if __name__ == "__main__":
    raise SystemExit(main())
