"""Operator status is metav1.Condition-shaped and keeps transition times until a status really changes."""

from __future__ import annotations

import datetime as dt

import pytest

from tokenhub_operator import settings, status

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)


def test_ready_summarises_the_first_condition_that_is_not_true() -> None:
    stored = status.Condition("Stored", True, "Stored")
    missing = status.Condition("CredentialsResolved", False, "SecretNotFound", "Secret 'x' not found")
    assert status.ready([stored]).status is True
    ready = status.ready([stored, missing])
    assert (ready.status, ready.reason, ready.message) == (False, "SecretNotFound", "Secret 'x' not found")
    assert status.ready([status.Condition("Healthy", None, "Probing")]).status_text == "Unknown"


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first = status.conditions([status.Condition("Ready", False, "Waiting")], None, 1, T0)
    assert first[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    same = status.conditions([status.Condition("Ready", False, "StillWaiting", "new message")], first, 2, T1)
    assert same[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert same[0]["observedGeneration"] == 2 and same[0]["reason"] == "StillWaiting"
    flipped = status.conditions([status.Condition("Ready", True, "Reconciled")], same, 2, T1)
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T12:05:00Z"
    assert flipped[0]["status"] == "True"


def test_settings_require_a_database_and_a_vault_password() -> None:
    with pytest.raises(settings.SettingsError, match="TOKENHUB_DATABASE_URL"):
        settings.OperatorSettings.from_env({})
    with pytest.raises(settings.SettingsError, match="VAULT_PASSWORD"):
        settings.OperatorSettings.from_env({"TOKENHUB_DATABASE_URL": "postgresql://x"})
    parsed = settings.OperatorSettings.from_env(
        {
            "TOKENHUB_DATABASE_URL": "postgresql://x",
            "TOKENHUB_VAULT_PASSWORD": "long enough password",
            "TOKENHUB_WATCH_NAMESPACES": "a, b",
            "TOKENHUB_OPERATOR_PRIORITY": "7",
        }
    )
    assert parsed.namespaces == ("a", "b") and parsed.priority == 7
    assert "long enough password" not in repr(parsed)


def test_operator_migrate_mode_defaults_to_auto_and_refuses_unknown_values() -> None:
    base = {"TOKENHUB_DATABASE_URL": "postgresql://x", "TOKENHUB_VAULT_PASSWORD": "long enough password"}
    assert settings.OperatorSettings.from_env(base).migrate == "auto"
    assert settings.OperatorSettings.from_env({**base, "TOKENHUB_MIGRATE": "Check"}).migrate == "check"
    with pytest.raises(settings.SettingsError, match="TOKENHUB_MIGRATE must be auto, check or off"):
        settings.OperatorSettings.from_env({**base, "TOKENHUB_MIGRATE": "always"})
