"""Process settings, read from the environment in exactly one place.

Every other module receives its values as arguments. An invalid value stops the process at start with a message
naming the variable — never a silent fallback to a default (the older system's habit that hid typos).
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import urllib.parse
from collections.abc import Mapping

from gateway.config import egress
from gateway.observability import tracing_settings
from gateway.providers import session
from gateway.providers.http1 import proxy
from gateway.serving import anthropic_betas
from gateway.store import dsn

PREFIX = "TOKENHUB_"
# Built-in Responses API tools left out (instead of refused) for upstreams that cannot run them: Codex offers
# both on every request by default, and a model that never sees them loses nothing it was told to use.
RESPONSES_DROP_TOOLS_DEFAULT = frozenset({"web_search", "tool_search"})
_CLIENT_TOOL_TYPES = frozenset({"function", "custom", "namespace"})
MIGRATE_MODES = ("auto", "check", "off")
# The admin token guards every fleet-wide read and the routing simulator: long enough that guessing is hopeless
# (32 characters of `openssl rand -hex 16` are 128 bits).
ADMIN_TOKEN_MIN_LENGTH = 32
# Fields a repr (and so str, logging and tracebacks) shows as *** instead of their value.
_SECRET_FIELDS = frozenset({"vault_password", "admin_token"})


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise SettingsError(f"{PREFIX}{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be >= {minimum}, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) < minimum:
        raise SettingsError(f"{PREFIX}{name} must be a whole number >= {minimum}, got {raw!r}")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _tool_types(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() == "none":
        return frozenset()
    found = frozenset(entry.strip() for entry in raw.split(",") if entry.strip())
    for entry in sorted(found):
        if not entry.replace("_", "").isalnum() or not entry.isascii() or entry in _CLIENT_TOOL_TYPES:
            raise SettingsError(
                f"{PREFIX}{name} must list built-in tool types (like web_search) separated by commas, or none;"
                f" got {entry!r}"
            )
    return found


def _path(env: Mapping[str, str], name: str) -> pathlib.Path | None:
    raw = env.get(PREFIX + name)
    return pathlib.Path(raw) if raw else None


def _admin_token(env: Mapping[str, str]) -> str | None:
    """TOKENHUB_ADMIN_TOKEN, or the content of the file TOKENHUB_ADMIN_TOKEN_FILE names (a mounted Secret)."""
    given, file = env.get(PREFIX + "ADMIN_TOKEN") or None, _path(env, "ADMIN_TOKEN_FILE")
    if given is not None and file is not None:
        raise SettingsError(f"set {PREFIX}ADMIN_TOKEN or {PREFIX}ADMIN_TOKEN_FILE, not both")
    name = "ADMIN_TOKEN"
    if file is not None:
        name += "_FILE"
        try:
            given = file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise SettingsError(f"{PREFIX}ADMIN_TOKEN_FILE cannot be read: {exc}") from exc
        if given is None:
            raise SettingsError(f"{PREFIX}ADMIN_TOKEN_FILE names an empty file: {file}")
    if given is not None and len(given) < ADMIN_TOKEN_MIN_LENGTH:
        raise SettingsError(
            f"{PREFIX}{name} must be at least {ADMIN_TOKEN_MIN_LENGTH} characters, got {len(given)}"
            " (generate one with: openssl rand -hex 32)"
        )
    return given


def _betas(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    """A comma list of ``anthropic-beta`` names; ``*`` for every beta (None), ``none`` for no beta."""
    raw = env.get(PREFIX + name)
    if raw is None or not raw.strip():
        return anthropic_betas.DEFAULT
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if items == ["*"]:
        return None
    if items == ["none"]:
        return frozenset()
    for item in items:
        if not anthropic_betas.NAME.match(item):
            raise SettingsError(
                f"{PREFIX}{name} must be '*', 'none' or a comma list of beta names such as"
                f" 'claude-code-20250219', got {item!r}"
            )
    return frozenset(items)


def _otel_flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _otel_endpoint(env: Mapping[str, str]) -> str:
    """The traces URL: ``..._TRACES_ENDPOINT`` as given, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``."""
    name, url = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not url and (base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()):
        name, url = "OTEL_EXPORTER_OTLP_ENDPOINT", base.rstrip("/") + "/v1/traces"
    if not url:
        return tracing_settings.DEFAULT_ENDPOINT
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http:// or https:// URL, got {url!r}")
    return url


def _otel_resource(env: Mapping[str, str]) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES``: ``key=value`` pairs separated by commas, values percent-encoded."""
    found: dict[str, str] = {}
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"OTEL_RESOURCE_ATTRIBUTES must be key=value pairs separated by commas, got {item!r}")
        found[key.strip()] = urllib.parse.unquote(value.strip())
    return found


def _tracing(env: Mapping[str, str]) -> tracing_settings.TracingSettings | None:
    """Tracing from the standard ``OTEL_*`` variables; ``None`` (off, the default) unless an OTLP exporter is asked
    for by ``OTEL_TRACES_EXPORTER=otlp`` or by setting an OTLP endpoint. OTLP/HTTP with protobuf only.

    The exporter's own transport variables (``OTEL_EXPORTER_OTLP_HEADERS``, ``..._TIMEOUT``, ``..._COMPRESSION``,
    ``..._CERTIFICATE``, each also as ``..._TRACES_...``) and the batch processor's ``OTEL_BSP_*`` are read by the
    OpenTelemetry SDK itself when tracing is on.
    """
    if _otel_flag(env, "OTEL_SDK_DISABLED"):
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter not in ("", "otlp", "none"):
        raise SettingsError(f"OTEL_TRACES_EXPORTER must be otlp or none (TokenHub exports OTLP only), got {exporter!r}")
    endpoint_given = any(
        env.get(name, "").strip() for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    if exporter == "none" or (exporter == "" and not endpoint_given):
        return None
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            raise SettingsError(f"{name} must be http/protobuf (the OTLP exporter TokenHub ships), got {protocol!r}")
        if protocol:
            break
    raw_sampler = env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or tracing_settings.Sampler.PARENT_BASED_ALWAYS_ON
    try:
        sampler = tracing_settings.Sampler(raw_sampler)
    except ValueError as exc:
        known = ", ".join(s.value for s in tracing_settings.Sampler)
        raise SettingsError(f"OTEL_TRACES_SAMPLER must be one of {known}; got {raw_sampler!r}") from exc
    ratio = 1.0
    raw_ratio = env.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    if sampler.takes_ratio and raw_ratio:
        try:
            ratio = float(raw_ratio)
        except ValueError:
            ratio = math.nan
        if not 0.0 <= ratio <= 1.0:
            raise SettingsError(f"OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got {raw_ratio!r}")
    resource = _otel_resource(env)
    service = env.get("OTEL_SERVICE_NAME", "").strip() or resource.get("service.name", "")
    return tracing_settings.TracingSettings(
        endpoint=_otel_endpoint(env),
        sampler=sampler,
        ratio=ratio,
        service_name=service or tracing_settings.DEFAULT_SERVICE_NAME,
        resource_attributes=resource,
    )


def _proxy_env(env: Mapping[str, str], name: str) -> str | None:
    """A proxy variable as curl and Python read it: the lower-case spelling wins over the upper-case one."""
    for spelling in (name.lower(), name.upper()):
        value = env.get(spelling)
        if value is not None and value.strip():
            return value.strip()
    return None


@dataclasses.dataclass(frozen=True, repr=False)
class Settings:
    database_url: str | None = None
    # Schema migrations at start against TOKENHUB_DATABASE_URL: auto (apply what is missing), check (refuse to
    # start when behind; `tokenhub migrate` runs them as the owner), off. The embedded Postgres always migrates.
    migrate: str = "auto"
    data_dir: pathlib.Path = pathlib.Path(".tokenhub")
    config_path: pathlib.Path | None = None
    secrets_dir: pathlib.Path | None = None
    vault_password: str | None = None
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # /metrics on a port of its own (same host), so that the Service clients reach need not expose it; None
    # serves it on the main port.
    metrics_port: int | None = None
    log_level: str = "info"
    drain_timeout_s: float = 30.0
    drain_delay_s: float = 0.0
    config_poll_interval_s: float = 5.0
    # Longer than this without confirming the served config revision is current (Postgres or the listener
    # down, reloads failing): /readyz answers 503 so traffic moves to replicas that are up to date.
    config_stale_s: float = 30.0
    health_probes: bool = True
    # Without Postgres and without a held lease: refuse (False, exact) or admit and charge later (True).
    budget_fail_open: bool = False
    # Responses API: built-in tools dropped for translated upstreams, and how long stored responses are kept.
    responses_drop_tools: frozenset[str] = RESPONSES_DROP_TOOLS_DEFAULT
    responses_retention_s: float = 30 * 86400.0
    # Inbound limits (api/inbound.py, api/http_protocol.py): requests in flight on the model endpoints of this
    # process, and how long a client may take to send a request's head and its body.
    max_concurrent_requests: int = 1000
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    # The anthropic-beta values forwarded to Anthropic upstreams (serving/anthropic_betas.py); None: every one.
    anthropic_betas: frozenset[str] | None = anthropic_betas.DEFAULT
    # A non-streamed upstream success body longer than this is refused (502 malformed_response), never buffered.
    upstream_max_body_bytes: int = 32 << 20
    # OpenTelemetry tracing from the standard OTEL_* variables (observability/tracing.py); None: off.
    tracing: tracing_settings.TracingSettings | None = None
    # Egress (docs/egress.md): the hosts and networks provider connections may reach (None: the default, which in
    # standalone mode also allows loopback), forward proxies from the usual variables, and how long a request waits
    # for a pooled upstream connection when all are in use (never held against the provider's health).
    provider_allow: str | None = None
    provider_deny: str | None = None
    http_proxy: str | None = dataclasses.field(default=None, repr=False)  # may hold the proxy's password
    https_proxy: str | None = dataclasses.field(default=None, repr=False)
    no_proxy: str | None = None
    upstream_pool_timeout_s: float = session.POOL_TIMEOUT_S
    # Standalone credentials: TOKENHUB_SECRET_<SECRET NAME>_<KEY> variables, captured here (see standalone.py).
    secret_env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        """Every field, with the database and proxy passwords, vault password, admin token and standalone secrets
        hidden."""
        shown = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("database_url", "http_proxy", "https_proxy"):
                value = dsn.redacted(value)
            elif field.name == "secret_env":
                value = dict.fromkeys(value, dsn.MASK)
            elif field.name in _SECRET_FIELDS and value is not None:
                value = dsn.MASK
            shown.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def resolved_secrets_dir(self) -> pathlib.Path:
        return self.secrets_dir or self.data_dir / "secrets"

    def egress(self) -> session.Egress:
        """The upstream clients' egress; raises `SettingsError` naming the variable that does not parse."""
        try:
            policy = egress.Policy.parse(self.provider_allow, None, standalone=self.config_path is not None)
        except egress.PolicyError as exc:
            raise SettingsError(f"{PREFIX}PROVIDER_ALLOW: {exc}") from exc
        try:
            deny = egress.Rules.parse(self.provider_deny or "")
        except egress.PolicyError as exc:
            raise SettingsError(f"{PREFIX}PROVIDER_DENY: {exc}") from exc
        for name, value in (("HTTP_PROXY", self.http_proxy), ("HTTPS_PROXY", self.https_proxy)):
            try:
                proxy.Proxy.parse(value) if value else None
            except proxy.ProxyUrlError as exc:
                raise SettingsError(f"{name} (or {name.lower()}) {exc}") from exc
        proxies = proxy.ProxyRules.parse(self.http_proxy, self.https_proxy, self.no_proxy)
        return session.Egress(
            policy=dataclasses.replace(policy, deny=deny), proxies=proxies, pool_timeout_s=self.upstream_pool_timeout_s
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        password = env.get(PREFIX + "VAULT_PASSWORD") or None
        password_file = _path(env, "VAULT_PASSWORD_FILE")
        if password is None and password_file is not None:
            try:
                password = password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{PREFIX}VAULT_PASSWORD_FILE cannot be read: {exc}") from exc
        level = env.get(PREFIX + "LOG_LEVEL", "info").lower()
        if level not in ("debug", "info", "warning", "error"):
            raise SettingsError(f"{PREFIX}LOG_LEVEL must be debug, info, warning or error, got {level!r}")
        port = _whole(env, "PORT", 8080, minimum=0)
        poll_s = _number(env, "CONFIG_POLL_SECONDS", 5.0, minimum=0.05)
        stale_s = _number(env, "CONFIG_STALE_SECONDS", 30.0, minimum=0.05)
        if stale_s <= poll_s:
            raise SettingsError(
                f"{PREFIX}CONFIG_STALE_SECONDS ({stale_s:g}) must be longer than {PREFIX}CONFIG_POLL_SECONDS"
                f" ({poll_s:g}): a replica would turn unready between two revision checks"
            )
        retention_days = _number(env, "RESPONSES_RETENTION_DAYS", 30.0)
        if retention_days <= 0:
            raise SettingsError(f"{PREFIX}RESPONSES_RETENTION_DAYS must be above 0, got {retention_days:g}")
        migrate = env.get(PREFIX + "MIGRATE", "").strip().lower() or "auto"
        if migrate not in MIGRATE_MODES:
            raise SettingsError(f"{PREFIX}MIGRATE must be auto, check or off, got {env[PREFIX + 'MIGRATE']!r}")
        if port > 65535:
            raise SettingsError(f"{PREFIX}PORT must be a port number (0-65535), got {port!r}")
        metrics_port = _whole(env, "METRICS_PORT", 0, minimum=0) if env.get(PREFIX + "METRICS_PORT") else None
        if metrics_port is not None and (metrics_port > 65535 or metrics_port == port):
            raise SettingsError(
                f"{PREFIX}METRICS_PORT must be a port number (0-65535) other than {PREFIX}PORT ({port}),"
                f" got {metrics_port!r}"
            )
        settings = cls(
            database_url=env.get(PREFIX + "DATABASE_URL") or None,
            migrate=migrate,
            data_dir=_path(env, "DATA_DIR") or pathlib.Path(".tokenhub"),
            config_path=_path(env, "CONFIG"),
            secrets_dir=_path(env, "SECRETS_DIR"),
            vault_password=password,
            admin_token=_admin_token(env),
            host=env.get(PREFIX + "HOST", "127.0.0.1"),
            port=port,
            metrics_port=metrics_port,
            log_level=level,
            drain_timeout_s=_number(env, "DRAIN_TIMEOUT_SECONDS", 30.0),
            drain_delay_s=_number(env, "DRAIN_DELAY_SECONDS", 0.0),
            config_poll_interval_s=poll_s,
            config_stale_s=stale_s,
            health_probes=_flag(env, "HEALTH_PROBES", True),
            budget_fail_open=_flag(env, "BUDGET_FAIL_OPEN", False),
            responses_drop_tools=_tool_types(env, "RESPONSES_DROP_TOOLS", RESPONSES_DROP_TOOLS_DEFAULT),
            responses_retention_s=retention_days * 86400.0,
            max_concurrent_requests=_whole(env, "MAX_CONCURRENT_REQUESTS", 1000, minimum=1),
            header_timeout_s=_number(env, "HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            body_timeout_s=_number(env, "BODY_TIMEOUT_SECONDS", 30.0, minimum=0.1),
            anthropic_betas=_betas(env, "ANTHROPIC_BETAS"),
            upstream_max_body_bytes=_whole(env, "UPSTREAM_MAX_BODY_BYTES", 32 << 20, minimum=1024),
            tracing=_tracing(env),
            provider_allow=env.get(PREFIX + "PROVIDER_ALLOW") or None,  # empty: the default, as elsewhere
            provider_deny=env.get(PREFIX + "PROVIDER_DENY") or None,
            http_proxy=_proxy_env(env, "HTTP_PROXY"),
            https_proxy=_proxy_env(env, "HTTPS_PROXY"),
            no_proxy=_proxy_env(env, "NO_PROXY"),
            upstream_pool_timeout_s=_number(env, "UPSTREAM_POOL_TIMEOUT_SECONDS", session.POOL_TIMEOUT_S, minimum=0.01),
            secret_env={k: v for k, v in env.items() if k.startswith(PREFIX + "SECRET_")},
        )
        settings.egress()  # a proxy URL or policy entry that does not parse stops the process here
        return settings
