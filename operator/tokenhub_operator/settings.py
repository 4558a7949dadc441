"""Operator settings, read from the environment once at startup (the operator's only reader of it).

Their repr - and so str, logging and tracebacks - shows neither the vault password nor the database password.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Mapping

from gateway.config import egress
from gateway.store import dsn


class SettingsError(ValueError):
    """A required variable is missing or unusable."""


@dataclasses.dataclass(frozen=True, repr=False)
class OperatorSettings:
    database_url: str = dataclasses.field(repr=False)
    vault_password: str = dataclasses.field(repr=False)
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    priority: int = 0
    peering_name: str = "tokenhub"
    key_rotation_grace_s: float = 3600.0
    resync_interval_s: float = 300.0
    temporary_delay_s: float = 15.0
    verbose: bool = False
    # The gateways' egress policy (TOKENHUB_PROVIDER_ALLOW / _DENY, docs/egress.md), so that Ready says early what
    # they will refuse; None: the policy is judged by the gateways alone.
    egress_policy: egress.Policy | None = None
    migrate: str = "auto"  # TOKENHUB_MIGRATE: auto, check (refuse to start when the schema is behind) or off

    def __repr__(self) -> str:
        shown = [f"database_url={dsn.redacted(self.database_url)!r}", f"vault_password={dsn.MASK!r}"]
        shown += [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr]
        return f"OperatorSettings({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        url = env.get("TOKENHUB_DATABASE_URL")
        if not url:
            raise SettingsError("TOKENHUB_DATABASE_URL is required")
        password = env.get("TOKENHUB_VAULT_PASSWORD")
        if not password and env.get("TOKENHUB_VAULT_PASSWORD_FILE"):
            password = pathlib.Path(env["TOKENHUB_VAULT_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
        if not password:
            raise SettingsError("TOKENHUB_VAULT_PASSWORD or TOKENHUB_VAULT_PASSWORD_FILE is required")

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            try:
                return float(raw) if raw else default
            except ValueError as exc:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from exc

        try:
            policy = egress.Policy.parse(env.get("TOKENHUB_PROVIDER_ALLOW") or None, env.get("TOKENHUB_PROVIDER_DENY"))
        except egress.PolicyError as exc:
            raise SettingsError(f"TOKENHUB_PROVIDER_ALLOW or TOKENHUB_PROVIDER_DENY: {exc}") from exc

        migrate = env.get("TOKENHUB_MIGRATE", "").strip().lower() or "auto"
        if migrate not in ("auto", "check", "off"):
            raise SettingsError(f"TOKENHUB_MIGRATE must be auto, check or off, got {env['TOKENHUB_MIGRATE']!r}")
        namespaces = tuple(ns.strip() for ns in env.get("TOKENHUB_WATCH_NAMESPACES", "").split(",") if ns.strip())
        return cls(
            database_url=url,
            vault_password=password,
            namespaces=namespaces,
            priority=int(number("TOKENHUB_OPERATOR_PRIORITY", 0)),
            peering_name=env.get("TOKENHUB_OPERATOR_PEERING", "tokenhub"),
            key_rotation_grace_s=number("TOKENHUB_KEY_ROTATION_GRACE_SECONDS", 3600.0),
            resync_interval_s=number("TOKENHUB_RESYNC_SECONDS", 300.0),
            temporary_delay_s=number("TOKENHUB_RETRY_DELAY_SECONDS", 15.0),
            verbose=env.get("TOKENHUB_LOG_LEVEL", "info").lower() == "debug",
            egress_policy=policy,
            migrate=migrate,
        )
