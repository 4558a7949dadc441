"""Periods and windows: budgets run per UTC calendar month, rate limits per UTC minute."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.accounting import values
from gateway.config import specs


def test_the_budget_period_is_the_utc_calendar_month() -> None:
    assert values.period_of(dt.datetime(2031, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == "2031-12"
    assert values.period_end(dt.datetime(2031, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == dt.datetime(
        2032, 1, 1, tzinfo=dt.UTC
    )


def test_a_refusal_for_rate_says_how_long_until_the_next_minute() -> None:
    now = dt.datetime(2031, 5, 14, 12, 0, 45, 500000, tzinfo=dt.UTC)
    assert values.seconds_to_next_window(now) == 14.5
    assert values.window_start(values.window_of(now)) == dt.datetime(2031, 5, 14, 12, 0, tzinfo=dt.UTC)


def test_limits_come_from_the_api_key_spec_with_the_budget_as_written() -> None:
    spec = specs.ApiKeySpec.model_validate({"monthlyBudgetUSD": 12.3, "rateLimit": {"rpm": 60}})
    assert values.Limits.of(spec) == values.Limits(budget_usd=Decimal("12.3"), rpm=60, tpm=None)
    assert values.Limits.of(specs.ApiKeySpec()).unlimited
