"""A request-log row and its charge, whatever a client or upstream put in them, leave the repositories as values
their columns hold (gateway/store/migrations/0001_init.sql, 0002_leases.sql)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from gateway.accounting import values
from gateway.serving import spool
from gateway.store import leases_repo, logs_repo, storable
from tests.fakes import log_rows

INT4_LOW, INT4_HIGH = storable.INT4
TOP = Decimal("999999999999.999999999999")
TEXT_CAPS = {"log_id": 128, "request_id": 256, "endpoint": 64, "error_message": 4000, "decision": 4000}


def storable_text(value: Any, cap: int = 4000) -> bool:
    if value is None:
        return True
    assert isinstance(value, str) and len(value) <= cap
    value.encode("utf-8")
    return "\x00" not in value


@given(row=log_rows.rows())
def test_every_column_value_of_any_row_is_storable(row: logs_repo.RequestLogRow) -> None:
    stored = dict(zip(logs_repo.COLUMNS, row.values(), strict=True))
    for name in logs_repo.COLUMNS:
        value = stored[name]
        if name in ("status", "input_tokens", "output_tokens"):
            assert type(value) is int and INT4_LOW <= value <= INT4_HIGH
            assert value >= 0 or name == "status"
        elif name == "latency_ms":
            assert math.isfinite(value)
        elif name in ("ttft_ms", "overhead_ms"):
            assert value is None or math.isfinite(value)
        elif name == "cost_usd":
            assert Decimal(0) <= value <= TOP and value == value.quantize(Decimal("1E-12"))
        elif name == "attempts":
            assert "\\u0000" not in value.replace("\\\\", "")  # jsonb refuses the escape \u0000 itself
            assert isinstance(orjson.loads(value), list)
        elif name in ("stream", "usage_estimated"):
            assert type(value) is bool
        elif name != "created_at":
            assert storable_text(value, TEXT_CAPS.get(name, 4000)), name


@given(row=log_rows.rows())
def test_a_stored_row_is_stored_unchanged_again(row: logs_repo.RequestLogRow) -> None:
    stored = logs_repo.as_stored(row)
    assert logs_repo.as_stored(stored) == stored
    assert stored.values() == row.values()


def test_a_client_nul_is_kept_visible_in_the_error_message() -> None:
    row = logs_repo.RequestLogRow(
        request_id="r",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        endpoint="native.chat",
        status=400,
        latency_ms=1.0,
        error_message="policy has unknown fields: \x00",
        output_tokens=3_000_000_000,
    )
    stored = dict(zip(logs_repo.COLUMNS, row.values(), strict=True))
    assert stored["error_message"] == "policy has unknown fields: \\u0000"
    assert stored["output_tokens"] == 2**31 - 1


def test_the_stand_in_keeps_who_when_and_what_it_cost_but_no_free_text() -> None:
    row = logs_repo.RequestLogRow(
        request_id="r",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        endpoint="chat.completions",
        status=200,
        latency_ms=5.0,
        key_namespace="team",
        key_name="k",
        model="gpt",
        mode="weird",
        decision="long text",
        error_message="the cause",
        input_tokens=10,
        output_tokens=20,
        cost_usd=Decimal("0.5"),
        attempts=({"model": "gpt"},),
    )
    stand_in = logs_repo.stand_in(row, "23514: check violation")
    assert (stand_in.log_id, stand_in.request_id, stand_in.cost_usd) == (row.log_id, "r", Decimal("0.5"))
    assert (stand_in.key_namespace, stand_in.key_name, stand_in.input_tokens, stand_in.output_tokens) == (
        "team",
        "k",
        10,
        20,
    )
    assert (stand_in.mode, stand_in.decision, stand_in.attempts) == (None, None, ())
    assert stand_in.error_message is not None and "23514: check violation" in stand_in.error_message


@given(cost=log_rows.decimals, text=log_rows.texts)
def test_a_charge_is_stored_with_the_same_cost_as_its_row(cost: Decimal, text: str) -> None:
    charge = leases_repo.ChargeRow(text, leases_repo.BudgetKey(text, text, text), text, cost, text)
    reservation, namespace, name, period, holder, request_id, stored_cost = charge.values()
    assert all(storable_text(v, 512) for v in (reservation, namespace, name, period, holder, request_id))
    row = logs_repo.RequestLogRow("r", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "e", 200, 1.0, cost_usd=cost)
    assert stored_cost == dict(zip(logs_repo.COLUMNS, row.values(), strict=True))["cost_usd"] >= 0


@given(row=log_rows.rows(), charge=st.none() | log_rows.charges(log_rows.unique_ids("reservation")))
def test_any_row_can_be_spooled_and_read_back_as_it_would_be_stored(
    row: logs_repo.RequestLogRow, charge: values.Charge | None
) -> None:
    read_row, read_charge = spool.decode(spool.encode((row, charge)))
    assert read_row == logs_repo.as_stored(row)
    if charge is None:
        assert read_charge is None
    else:
        assert read_charge is not None
        assert read_charge.cost_usd == storable.money(charge.cost_usd)
        assert read_charge.reservation_id == storable.text(charge.reservation_id, 512)
