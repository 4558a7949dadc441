"""``tokenhub keys``: create, list, rotate and disable API keys in standalone mode.

A key made here belongs to an ApiKey resource owned by ``cli`` (so ``apply --prune`` of a folder leaves it
alone); in a cluster the ApiKey kind and the operator do the same declaratively. The full key is printed once,
at creation or rotation, and never stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import pydantic

from gateway.config import documents, parsing, reconcile, specs
from gateway.store import config_repo, keys_repo, pool

OWNER = "cli"


def _spec(args: argparse.Namespace) -> specs.ApiKeySpec:
    raw: dict[str, object] = {"scopes": args.scope or ["chat", "models"]}
    if args.owner:
        raw["owner"] = args.owner
    if args.budget is not None:
        raw["monthlyBudgetUSD"] = args.budget
    if args.rpm is not None or args.tpm is not None:
        raw["rateLimit"] = {k: v for k, v in (("rpm", args.rpm), ("tpm", args.tpm)) if v is not None}
    if args.models:
        raw["allowedModels"] = args.models
    if args.expires:
        raw["expiresAt"] = args.expires
    try:
        return specs.ApiKeySpec.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = [
            documents.Problem(
                documents.Source("command line"), f"ApiKey/{args.name}", ".".join(map(str, e["loc"])), e["msg"]
            )
            for e in exc.errors()
        ]
        raise documents.ConfigError(problems) from exc


async def create(url: str, args: argparse.Namespace) -> int:
    ref = documents.ObjectRef("ApiKey", args.namespace, args.name)
    if not specs.is_valid_name(args.name):
        raise documents.ConfigError(
            [documents.Problem(documents.Source("command line"), "", "name", f"{args.name!r} is not a DNS label")]
        )
    spec = _spec(args)
    desired = reconcile.DesiredObject(ref, specs.spec_to_json(spec), reconcile.spec_hash(specs.spec_to_json(spec)))

    def planner(current: config_repo.CurrentState) -> reconcile.ChangeSet:
        if ref in current.objects:
            raise documents.ConfigError(
                [documents.Problem(documents.Source("command line"), str(ref), "", "already exists")]
            )
        return reconcile.ChangeSet(upserts=(desired,))

    await config_repo.apply(url, planner, owner=OWNER)
    issued, _ = await keys_repo.issue(url, ref)
    sys.stdout.write(f"{issued.full_key}\n")
    sys.stderr.write(f"created {ref}; the key above is shown only now\n")
    return 0


async def disable(url: str, args: argparse.Namespace) -> int:
    ref = documents.ObjectRef("ApiKey", args.namespace, args.name)
    async with pool.Database(url, max_size=1) as db, db.connection("cannot read configuration") as conn:
        stored = await config_repo.load(conn)
        stored_owner = await config_repo.owner_of(conn, ref)
    raw = stored.objects.get(ref)
    if raw is None:
        raise documents.ConfigError([documents.Problem(documents.Source("command line"), str(ref), "", "not found")])
    doc = parsing.parse_object(
        {
            "apiVersion": specs.GROUP_VERSION,
            "kind": "ApiKey",
            "metadata": {"name": ref.name, "namespace": ref.namespace},
            "spec": {**raw, "disabled": True},
        },
        documents.Source("command line"),
    )
    assert isinstance(doc, documents.Document)
    desired = reconcile.DesiredObject.of(doc)
    owner = stored_owner or OWNER

    def planner(current: config_repo.CurrentState) -> reconcile.ChangeSet:
        return reconcile.plan([desired], current.objects, owner=owner, prune=False)

    result = await config_repo.apply(url, planner, owner=owner)
    sys.stdout.write(f"disabled {ref} (revision {result.revision})\n")
    return 0


async def _owner(url: str, ref: documents.ObjectRef) -> str | None:
    async with pool.Database(url, max_size=1) as db, db.connection("cannot read configuration") as conn:
        return await config_repo.owner_of(conn, ref)


async def rotate(url: str, args: argparse.Namespace) -> int:
    ref = documents.ObjectRef("ApiKey", args.namespace, args.name)
    if await _owner(url, ref) is None:
        raise documents.ConfigError([documents.Problem(documents.Source("command line"), str(ref), "", "not found")])
    await keys_repo.retire(url, ref, dt.timedelta(seconds=args.grace_seconds))
    issued, _ = await keys_repo.issue(url, ref)
    sys.stdout.write(f"{issued.full_key}\n")
    sys.stderr.write(f"rotated {ref}; the previous key stays valid for {args.grace_seconds}s\n")
    return 0


async def list_keys(url: str, args: argparse.Namespace) -> int:
    now = dt.datetime.now(dt.UTC)
    sys.stdout.write(f"{'NAMESPACE/NAME':32} {'KEY':28} {'STATE':10} CREATED\n")
    for key in await keys_repo.listing(url):
        state = "disabled" if key.disabled else ("retired" if key.valid_until and key.valid_until <= now else "active")
        created = key.created_at.strftime("%Y-%m-%d %H:%M:%S")
        sys.stdout.write(f"{key.namespace + '/' + key.name:32} {key.key_prefix:28} {state:10} {created}\n")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    keys = sub.add_parser("keys", help="create, list, rotate and disable API keys (standalone)")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    make = actions.add_parser("create", help="create an ApiKey and print its key once")
    make.add_argument("name")
    make.add_argument("--scope", action="append", choices=[s.value for s in specs.Scope])
    make.add_argument("--owner")
    make.add_argument("--budget", type=float, help="monthly budget in USD")
    make.add_argument("--rpm", type=int)
    make.add_argument("--tpm", type=int)
    make.add_argument("--models", nargs="+", help="allowed models (default: all)")
    make.add_argument("--expires", help="ISO 8601 time with a timezone")
    make.set_defaults(keys_action=create)
    actions.add_parser("list", help="list issued keys (never their secrets)").set_defaults(keys_action=list_keys)
    off = actions.add_parser("disable", help="disable an ApiKey at once on every replica")
    off.add_argument("name")
    off.set_defaults(keys_action=disable)
    turn = actions.add_parser("rotate", help="issue a new key; the old one stays valid for a grace period")
    turn.add_argument("name")
    turn.add_argument("--grace-seconds", type=int, default=3600)
    turn.set_defaults(keys_action=rotate)
    for parser in (make, off, turn):
        parser.add_argument("--namespace", default="default")
    return keys
