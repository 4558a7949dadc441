"""The operator's settings never show a password, however they are printed or logged."""

from __future__ import annotations

import logging

import pytest

from tokenhub_operator import settings

ENV = {
    "TOKENHUB_DATABASE_URL": "postgresql://tokenhub:db-password-42@db:5432/tokenhub",
    "TOKENHUB_VAULT_PASSWORD": "vault-password-43",
    "TOKENHUB_WATCH_NAMESPACES": "team-a, team-b",
}


def test_repr_str_and_logging_hide_both_passwords(caplog: pytest.LogCaptureFixture) -> None:
    parsed = settings.OperatorSettings.from_env(ENV)
    assert parsed.vault_password == "vault-password-43" and "db-password-42" in parsed.database_url
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("starting with %s", parsed)
    for shown in (repr(parsed), str(parsed), f"{parsed}", caplog.text):
        assert "db-password-42" not in shown and "vault-password-43" not in shown
    assert repr(parsed).startswith(
        "OperatorSettings(database_url='postgresql://tokenhub:***@db:5432/tokenhub', vault_password='***',"
        " namespaces=('team-a', 'team-b'), priority=0,"
    )


def test_missing_values_name_their_variable() -> None:
    with pytest.raises(settings.SettingsError, match="TOKENHUB_DATABASE_URL"):
        settings.OperatorSettings.from_env({})
    with pytest.raises(settings.SettingsError, match="TOKENHUB_VAULT_PASSWORD"):
        settings.OperatorSettings.from_env({"TOKENHUB_DATABASE_URL": "postgresql://db/x"})
