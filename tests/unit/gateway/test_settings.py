"""Settings come from the environment once; a bad value stops the process with the variable's name."""

from __future__ import annotations

import ipaddress
import logging
import pathlib

import pytest

from gateway import settings


def test_defaults_and_values_are_read() -> None:
    parsed = settings.Settings.from_env(
        {
            "TOKENHUB_PORT": "9000",
            "TOKENHUB_DATA_DIR": "/tmp/x",
            "TOKENHUB_BUDGET_FAIL_OPEN": "true",
            "TOKENHUB_HEALTH_PROBES": "off",
            "TOKENHUB_SECRET_OPENAI_APIKEY": "sk",
            "UNRELATED": "1",
        }
    )
    assert parsed.port == 9000 and parsed.data_dir == pathlib.Path("/tmp/x")
    assert parsed.budget_fail_open and not parsed.health_probes
    assert parsed.secret_env == {"TOKENHUB_SECRET_OPENAI_APIKEY": "sk"}
    assert not settings.Settings.from_env({}).budget_fail_open


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENHUB_PORT", "http"),
        ("TOKENHUB_PORT", "70000"),
        ("TOKENHUB_LOG_LEVEL", "loud"),
        ("TOKENHUB_BUDGET_FAIL_OPEN", "maybe"),
        ("TOKENHUB_DRAIN_TIMEOUT_SECONDS", "-1"),
        ("TOKENHUB_CONFIG_STALE_SECONDS", "soon"),
        ("TOKENHUB_CONFIG_STALE_SECONDS", "5"),  # not longer than the 5 s poll: unready between two checks
        ("TOKENHUB_DRAIN_TIMEOUT_SECONDS", "nan"),
        ("TOKENHUB_MAX_CONCURRENT_REQUESTS", "0"),
        ("TOKENHUB_MAX_CONCURRENT_REQUESTS", "2.5"),
        ("TOKENHUB_MAX_CONCURRENT_REQUESTS", "inf"),
        ("TOKENHUB_HEADER_TIMEOUT_SECONDS", "0"),
        ("TOKENHUB_BODY_TIMEOUT_SECONDS", "soon"),
        ("TOKENHUB_ANTHROPIC_BETAS", "*,claude-code-20250219"),  # all, or a list: not both
        ("TOKENHUB_ANTHROPIC_BETAS", "Bad Beta"),
        ("TOKENHUB_MIGRATE", "always"),
    ],
)
def test_an_invalid_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(settings.SettingsError, match=name):
        settings.Settings.from_env({name: value})


def test_the_config_stale_limit_defaults_to_thirty_seconds_and_can_be_set() -> None:
    assert settings.Settings.from_env({}).config_stale_s == 30.0
    parsed = settings.Settings.from_env({"TOKENHUB_CONFIG_STALE_SECONDS": "2", "TOKENHUB_CONFIG_POLL_SECONDS": "0.5"})
    assert (parsed.config_stale_s, parsed.config_poll_interval_s) == (2.0, 0.5)


def test_responses_settings_default_to_dropping_codexs_hosted_tools_and_thirty_days() -> None:
    parsed = settings.Settings.from_env({})
    assert parsed.responses_drop_tools == {"web_search", "tool_search"}
    assert parsed.responses_retention_s == 30 * 86400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("none", frozenset()),
        ("web_search", {"web_search"}),
        (" web_search , image_generation ", {"web_search", "image_generation"}),
    ],
)
def test_the_dropped_tools_are_a_comma_list_or_none(raw: str, expected: frozenset[str]) -> None:
    assert settings.Settings.from_env({"TOKENHUB_RESPONSES_DROP_TOOLS": raw}).responses_drop_tools == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENHUB_RESPONSES_DROP_TOOLS", "function"),  # a client tool is the client's, never dropped
        ("TOKENHUB_RESPONSES_DROP_TOOLS", "web search"),
        ("TOKENHUB_RESPONSES_RETENTION_DAYS", "0"),
        ("TOKENHUB_RESPONSES_RETENTION_DAYS", "forever"),
    ],
)
def test_invalid_responses_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(settings.SettingsError, match=name):
        settings.Settings.from_env({name: value})


def test_retention_may_be_a_fraction_of_a_day() -> None:
    assert settings.Settings.from_env({"TOKENHUB_RESPONSES_RETENTION_DAYS": "0.5"}).responses_retention_s == 43200


def test_inbound_limits_are_read() -> None:
    defaults = settings.Settings.from_env({})
    assert (defaults.max_concurrent_requests, defaults.header_timeout_s, defaults.body_timeout_s) == (1000, 10, 30)
    parsed = settings.Settings.from_env(
        {
            "TOKENHUB_MAX_CONCURRENT_REQUESTS": "64",
            "TOKENHUB_HEADER_TIMEOUT_SECONDS": "2.5",
            "TOKENHUB_BODY_TIMEOUT_SECONDS": "120",
        }
    )
    assert (parsed.max_concurrent_requests, parsed.header_timeout_s, parsed.body_timeout_s) == (64, 2.5, 120)


def test_anthropic_betas_default_to_what_claude_code_sends() -> None:
    default = settings.Settings.from_env({}).anthropic_betas
    assert default is not None and "claude-code-20250219" in default and "context-1m-2025-08-07" not in default
    assert settings.Settings.from_env({"TOKENHUB_ANTHROPIC_BETAS": " "}).anthropic_betas == default
    assert settings.Settings.from_env({"TOKENHUB_ANTHROPIC_BETAS": "*"}).anthropic_betas is None
    assert settings.Settings.from_env({"TOKENHUB_ANTHROPIC_BETAS": "none"}).anthropic_betas == frozenset()
    listed = settings.Settings.from_env({"TOKENHUB_ANTHROPIC_BETAS": "a-1, context-1m-2025-08-07,"}).anthropic_betas
    assert listed == frozenset({"a-1", "context-1m-2025-08-07"})


def test_the_upstream_body_cap_defaults_to_32_mib_and_refuses_nonsense() -> None:
    assert settings.Settings.from_env({}).upstream_max_body_bytes == 32 * 1024 * 1024
    assert settings.Settings.from_env({"TOKENHUB_UPSTREAM_MAX_BODY_BYTES": "4096"}).upstream_max_body_bytes == 4096
    for bad in ("lots", "-1", "1.5", "10"):
        with pytest.raises(settings.SettingsError, match="TOKENHUB_UPSTREAM_MAX_BODY_BYTES"):
            settings.Settings.from_env({"TOKENHUB_UPSTREAM_MAX_BODY_BYTES": bad})


def test_migrate_mode_defaults_to_auto_and_reads_check_and_off() -> None:
    assert settings.Settings.from_env({}).migrate == "auto"
    assert settings.Settings.from_env({"TOKENHUB_MIGRATE": "check"}).migrate == "check"
    assert settings.Settings.from_env({"TOKENHUB_MIGRATE": " OFF "}).migrate == "off"


def test_the_admin_token_has_a_minimum_length() -> None:
    token = "t" * settings.ADMIN_TOKEN_MIN_LENGTH
    assert settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN": token}).admin_token == token
    with pytest.raises(settings.SettingsError) as refused:
        settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN": "admin"})
    assert str(refused.value) == (
        "TOKENHUB_ADMIN_TOKEN must be at least 32 characters, got 5 (generate one with: openssl rand -hex 32)"
    )
    assert settings.Settings.from_env({}).admin_token is None


def test_the_admin_token_may_come_from_a_file(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "admin-token"
    file.write_text("f" * 40 + "\n")
    assert settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN_FILE": str(file)}).admin_token == "f" * 40
    file.write_text("short\n")
    with pytest.raises(settings.SettingsError, match=r"^TOKENHUB_ADMIN_TOKEN_FILE must be at least 32 characters"):
        settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN_FILE": str(file)})
    with pytest.raises(settings.SettingsError, match=r"^TOKENHUB_ADMIN_TOKEN_FILE cannot be read"):
        settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN_FILE": str(tmp_path / "absent")})
    with pytest.raises(settings.SettingsError, match="not both"):
        settings.Settings.from_env({"TOKENHUB_ADMIN_TOKEN_FILE": str(file), "TOKENHUB_ADMIN_TOKEN": "a" * 40})


def test_repr_str_and_logging_hide_every_secret(caplog: pytest.LogCaptureFixture) -> None:
    parsed = settings.Settings.from_env(
        {
            "TOKENHUB_DATABASE_URL": "postgresql://tokenhub:db-password-42@db/tokenhub",
            "TOKENHUB_VAULT_PASSWORD": "vault-password-43",
            "TOKENHUB_ADMIN_TOKEN": "admin-token-44-" + "x" * 32,
            "TOKENHUB_SECRET_OPENAI_APIKEY": "sk-standalone-45",
        }
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s", parsed)
    for shown in (repr(parsed), str(parsed), f"{parsed}", caplog.text):
        for secret in ("db-password-42", "vault-password-43", "admin-token-44", "sk-standalone-45"):
            assert secret not in shown
    assert "database_url='postgresql://tokenhub:***@db/tokenhub'" in repr(parsed)
    assert "vault_password='***', admin_token='***'" in repr(parsed)
    assert "secret_env={'TOKENHUB_SECRET_OPENAI_APIKEY': '***'}" in repr(parsed)
    assert "port=8080" in repr(parsed), "everything else is shown as it is"


def test_the_metrics_port_is_off_by_default_and_must_differ_from_the_main_port() -> None:
    assert settings.Settings.from_env({}).metrics_port is None
    assert settings.Settings.from_env({"TOKENHUB_METRICS_PORT": "9090"}).metrics_port == 9090
    for bad in ("8080", "70000", "x", "-1"):
        with pytest.raises(settings.SettingsError, match="TOKENHUB_METRICS_PORT"):
            settings.Settings.from_env({"TOKENHUB_METRICS_PORT": bad})


def test_egress_settings_are_read_with_the_lower_case_proxy_spelling_winning() -> None:
    parsed = settings.Settings.from_env(
        {
            "TOKENHUB_PROVIDER_ALLOW": "10.0.0.0/8,*.svc",
            "TOKENHUB_PROVIDER_DENY": "10.9.0.0/16",
            "HTTPS_PROXY": "http://upper:3128",
            "https_proxy": "http://user:pw@lower:3128",
            "NO_PROXY": "internal.example",
            "TOKENHUB_UPSTREAM_POOL_TIMEOUT_SECONDS": "2.5",
        }
    )
    rules = parsed.egress()
    assert rules.pool_timeout_s == 2.5
    assert rules.proxies.https is not None and rules.proxies.https.host == "lower"
    assert rules.proxies.for_origin("https", "a.internal.example", 443) is None
    assert "pw" not in repr(parsed)
    assert rules.policy.deny.networks and rules.policy.allow.hosts == ("*.svc",)


def test_the_default_policy_allows_loopback_only_in_standalone_mode() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert settings.Settings().egress().policy.refusal("x", loopback) is not None
    standalone = settings.Settings(config_path=pathlib.Path("examples"))
    assert standalone.egress().policy.refusal("x", loopback) is None


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("TOKENHUB_PROVIDER_ALLOW", "not a host!", "TOKENHUB_PROVIDER_ALLOW"),
        ("TOKENHUB_PROVIDER_DENY", "http://x", "TOKENHUB_PROVIDER_DENY"),
        ("HTTPS_PROXY", "https://user:secret@p:1", "HTTPS_PROXY"),
        ("http_proxy", "socks5://p:1", "HTTP_PROXY"),
        ("TOKENHUB_UPSTREAM_POOL_TIMEOUT_SECONDS", "soon", "TOKENHUB_UPSTREAM_POOL_TIMEOUT_SECONDS"),
    ],
)
def test_an_unusable_egress_value_names_its_variable_and_no_password(name: str, value: str, named: str) -> None:
    with pytest.raises(settings.SettingsError, match=named) as caught:
        settings.Settings.from_env({name: value})
    assert "secret" not in str(caught.value)
