"""The chart's alert rules pass ``promtool check rules`` and their unit tests, and every alert has both a case
where it fires and one where it stays silent (tests/promtool/*.yaml)."""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

import yaml

from tests.plugins import prometheus

ROOT = pathlib.Path(__file__).parents[2]
RULES = ROOT / "charts" / "tokenhub" / "files" / "prometheus-rules.yaml"
CASES = sorted((ROOT / "tests" / "promtool").glob("*.yaml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [prometheus.binary("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def alerts() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_the_rules_file_is_valid() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in yaml.safe_load(RULES.read_text())['groups'])} rules found" in (
        done.stdout
    )


def test_the_alerts_unit_tests_pass() -> None:
    assert CASES, "no promtool test files"
    done = promtool("test", "rules", *map(str, CASES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in CASES:
        suite: dict[str, Any] = yaml.safe_load(path.read_text())
        for case in suite["tests"]:
            for check in case.get("alert_rule_test", ()):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    expected = alerts()
    assert len(expected) >= 13
    assert expected - firing == set(), "alerts never shown firing"
    assert expected - silent == set(), "alerts never shown silent"
