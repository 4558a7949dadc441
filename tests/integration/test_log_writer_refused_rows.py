"""A row Postgres refuses costs only itself: the rest of its batch is written, it goes to the dead-letter file, and
its charge is still recorded - whether it came from the queue or from the spool, and whatever its values.

Postgres refuses the rows through real CHECK constraints added for the test: ``mode = 'refused'`` (the stand-in row
drops ``mode``, so it is written in the refused row's place) and ``endpoint = 'refused'`` (the stand-in keeps the
endpoint and is refused too, so only the charge is written).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import tempfile
from decimal import Decimal
from typing import Any

import orjson
import prometheus_client
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.accounting import values
from gateway.observability import metrics as metrics_mod
from gateway.serving import deadletter, logwriter, spool
from gateway.store import leases_repo, logs_repo, storable
from tests.fakes import log_rows

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/postgres?connect_timeout=1"
REFUSE = (
    "ALTER TABLE request_logs ADD CONSTRAINT test_refuses_mode CHECK (mode IS DISTINCT FROM 'refused'),"
    " ADD CONSTRAINT test_refuses_endpoint CHECK (endpoint <> 'refused')"
)


def row(n: int, *, mode: str | None = None, endpoint: str = "chat.completions") -> logs_repo.RequestLogRow:
    return logs_repo.RequestLogRow(
        request_id=f"req-{n}",
        created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        endpoint=endpoint,
        status=200,
        latency_ms=10.0,
        mode=mode,
        cost_usd=Decimal(n) / 1000,
    )


def charge(n: int) -> values.Charge:
    return values.Charge(f"holder:{n}", values.KeyRef("team", "key"), "2026-11", "holder", Decimal(n) / 1000)


def new_writer(url: str, folder: pathlib.Path) -> tuple[logwriter.LogWriter, metrics_mod.Metrics]:
    metrics = metrics_mod.Metrics(prometheus_client.CollectorRegistry())
    writer = logwriter.LogWriter(
        url, metrics, max_delay_s=0.05, retry_delay_s=0.05, spool=spool.Spool(folder / "request-logs.jsonl")
    )
    return writer, metrics


def counted(metrics: metrics_mod.Metrics) -> tuple[float, float]:
    """Rows written, rows dead-lettered - as /metrics exports them."""
    written = metrics.registry.get_sample_value("tokenhub_request_log_written_total")
    dead = metrics.registry.get_sample_value("tokenhub_request_log_dead_lettered_total")
    return written or 0.0, dead or 0.0


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(sql)
        return await cur.fetchall()


async def refuse_some_rows(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(REFUSE)


async def ledger_spend(url: str) -> Decimal:
    """A key's spend as leases_repo.usage computes it: folded spend plus what open leases charged."""
    ((spend,),) = await query(
        url,
        "SELECT (SELECT coalesce(sum(spent_usd), 0) FROM budget_periods)"
        " + (SELECT coalesce(sum(charged_usd), 0) FROM budget_leases)",
    )
    return Decimal(spend)


async def test_a_refused_row_is_set_aside_and_the_rest_of_its_batch_written_with_every_charge(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    writer, metrics = new_writer(database_url, tmp_path)
    writer.start()
    for n in range(1, 5):
        writer.record(row(n), charge(n))
    await writer.stop()
    assert await query(database_url, "SELECT count(DISTINCT xmin::text) FROM request_logs") == [(1,)]  # one batch

    await refuse_some_rows(database_url)
    writer, metrics = new_writer(database_url, tmp_path)
    writer.start()
    refused = {6: "mode", 9: "mode", 12: "endpoint"}
    for n in range(5, 15):
        entry = row(
            n,
            mode="refused" if refused.get(n) == "mode" else None,
            endpoint="refused" if refused.get(n) == "endpoint" else "chat.completions",
        )
        writer.record(entry, charge(n))
    await writer.stop()

    logged = dict(await query(database_url, "SELECT request_id, error_message FROM request_logs"))
    assert sorted(logged) == sorted(f"req-{n}" for n in range(1, 15) if refused.get(n) != "endpoint")
    for n in (6, 9):  # a stand-in in the refused row's place: same request, its cost, a note instead of free text
        assert "dead-lettered" in logged[f"req-{n}"] and "23514" in logged[f"req-{n}"]
    letters = deadletter.DeadLetters(deadletter.beside(tmp_path / "request-logs.jsonl")).read()
    assert sorted((letter.entry[0].request_id, letter.stand_in) for letter in letters) == [
        ("req-12", False),
        ("req-6", True),
        ("req-9", True),
    ]
    assert all(letter.sqlstate == "23514" and not letter.charge_lost for letter in letters)
    assert next(letter for letter in letters if letter.stand_in).entry[0].mode == "refused"  # the full row is kept
    assert counted(metrics) == (7, 3)

    journal = dict(await query(database_url, "SELECT reservation_id, cost_usd FROM budget_charges"))
    assert journal == {f"holder:{n}": Decimal(n) / 1000 for n in range(1, 15)}  # no charge handed back
    assert await ledger_spend(database_url) == sum(journal.values())


async def test_a_spooled_row_refused_on_replay_is_dead_lettered_once_not_replayed_forever(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    down, _ = new_writer(UNREACHABLE, tmp_path)
    down.start()
    for n in range(1, 6):
        down.record(row(n, mode="refused" if n == 3 else None), charge(n))
    await down.stop(timeout_s=20)
    assert len(spool.Spool(tmp_path / "request-logs.jsonl").read()) == 5

    await refuse_some_rows(database_url)
    up, metrics = new_writer(database_url, tmp_path)
    up.start()
    up.record(row(6), charge(6))
    await up.stop()
    assert counted(metrics) == (5, 1)
    assert not (tmp_path / "request-logs.jsonl").exists()

    later, metrics = new_writer(database_url, tmp_path)
    later.start()
    later.record(row(7), charge(7))
    await later.stop()
    assert counted(metrics) == (1, 0)
    letters = deadletter.DeadLetters(deadletter.beside(tmp_path / "request-logs.jsonl")).read()
    assert [letter.entry[0].request_id for letter in letters] == ["req-3"]
    ((rows,),) = await query(database_url, "SELECT count(*) FROM request_logs")
    assert rows == 7  # six rows and the stand-in of the refused one
    journal = dict(await query(database_url, "SELECT reservation_id, cost_usd FROM budget_charges"))
    assert journal == {f"holder:{n}": Decimal(n) / 1000 for n in range(1, 8)}
    assert await ledger_spend(database_url) == sum(journal.values())


async def test_a_charge_postgres_refuses_is_kept_in_the_dead_letter_file_with_its_row(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("ALTER TABLE budget_charges ADD CONSTRAINT test_refuses CHECK (holder <> 'refused')")
    writer, metrics = new_writer(database_url, tmp_path)
    writer.start()
    for n in range(1, 4):
        refused = dataclasses.replace(charge(n), holder="refused") if n == 2 else charge(n)
        writer.record(row(n), refused)
    await writer.stop()

    assert sorted(r for (r,) in await query(database_url, "SELECT request_id FROM request_logs")) == ["req-1", "req-3"]
    (letter,) = deadletter.DeadLetters(deadletter.beside(tmp_path / "request-logs.jsonl")).read()
    assert (letter.entry[0].request_id, letter.stand_in, letter.charge_lost) == ("req-2", False, True)
    assert letter.entry[1] == dataclasses.replace(charge(2), holder="refused")  # kept, to be charged by hand
    assert counted(metrics) == (2, 1)


async def test_absurd_costs_saturate_the_spend_instead_of_stopping_later_charges(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    writer, metrics = new_writer(database_url, tmp_path)
    writer.start()
    absurd = Decimal("1E+40")  # an upstream's absurd token count times a price
    for n in range(1, 4):
        writer.record(dataclasses.replace(row(n), cost_usd=absurd), dataclasses.replace(charge(n), cost_usd=absurd))
    await writer.stop()
    writer, metrics = new_writer(database_url, tmp_path)
    writer.start()
    writer.record(row(4), charge(4))
    await writer.stop()

    assert counted(metrics) == (1, 0)
    journal = dict(await query(database_url, "SELECT reservation_id, cost_usd FROM budget_charges"))
    assert journal == {**{f"holder:{n}": storable.MONEY_MAX for n in range(1, 4)}, "holder:4": Decimal("0.004")}
    assert await ledger_spend(database_url) == storable.MONEY_MAX  # beyond any budget: nothing more is granted
    async with await psycopg.AsyncConnection.connect(database_url) as conn:  # the lease still folds into spend
        await leases_repo.release_budget(
            conn, leases_repo.BudgetKey("team", "key", "2026-11"), holder="holder", amount=None
        )
    assert await query(database_url, "SELECT spent_usd FROM budget_periods") == [(storable.MONEY_MAX,)]


reservation_ids = log_rows.unique_ids("reservation")
refusable_rows = log_rows.rows(log_ids=log_rows.unique_ids("log")).flatmap(
    lambda r: st.sampled_from(
        [
            r,
            logs_repo.RequestLogRow(**{**_fields(r), "mode": "refused"}),
            logs_repo.RequestLogRow(**{**_fields(r), "endpoint": "refused"}),
        ]
    )
)


def _fields(r: logs_repo.RequestLogRow) -> dict[str, Any]:
    return {name: getattr(r, name) for name in logs_repo.COLUMNS}


@st.composite
def entries(draw: st.DrawFn) -> list[logwriter.Entry]:
    """Rows with arbitrary values in every field, each with a charge of the row's own cost, or none."""
    drawn = draw(st.lists(refusable_rows, min_size=1, max_size=6))
    return [(r, draw(st.none() | log_rows.charges(reservation_ids, cost=r.cost_usd))) for r in drawn]


def numbers_as_floats(value: Any) -> Any:
    """jsonb keeps numbers as numeric: 1e+264 comes back as an int with 265 digits."""
    if isinstance(value, dict):
        return {k: numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_as_floats(v) for v in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def comparable(found: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row's values as compared: ``attempts`` (jsonb, or its JSON text) as Python values, numbers as floats."""
    return tuple(
        numbers_as_floats(orjson.loads(v) if isinstance(v, str) else v) if name == "attempts" else v
        for name, v in zip(logs_repo.COLUMNS, found, strict=True)
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=entries())
async def test_any_values_in_any_field_are_written_or_dead_lettered_and_no_charge_is_lost(
    database_url: str, batch: list[logwriter.Entry]
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("TRUNCATE request_logs, budget_charges, budget_leases, budget_periods")
        await conn.execute(
            "ALTER TABLE request_logs DROP CONSTRAINT IF EXISTS test_refuses_mode,"
            " DROP CONSTRAINT IF EXISTS test_refuses_endpoint"
        )
        await conn.execute(REFUSE)
    with tempfile.TemporaryDirectory() as folder:
        writer, metrics = new_writer(database_url, pathlib.Path(folder))
        writer.start()
        for r, c in batch:
            writer.record(r, c)
        await writer.stop()
        letters = deadletter.DeadLetters(deadletter.beside(pathlib.Path(folder) / "request-logs.jsonl")).read()

    stored = {
        found[0]: found
        for found in await query(database_url, f"SELECT {', '.join(logs_repo.COLUMNS)} FROM request_logs")
    }
    dead = {letter.entry[0].log_id for letter in letters}
    for r, _ in batch:
        log_id = storable.text(r.log_id, 128)
        if r.mode == "refused" or r.endpoint == "refused":
            assert log_id in dead
        else:
            assert log_id not in dead
            assert comparable(stored[log_id]) == comparable(r.values())  # written whole, as the rules make it
    assert sum(counted(metrics)) == len(batch)
    assert not any(letter.charge_lost for letter in letters)

    charged = [c for _, c in batch if c is not None]
    journal = dict(await query(database_url, "SELECT reservation_id, cost_usd FROM budget_charges"))
    assert sorted(journal) == sorted(storable.text(c.reservation_id, 512) for c in charged)
    recorded = sum((storable.money(c.cost_usd) for c in charged), Decimal(0))
    assert sum(journal.values(), Decimal(0)) == recorded
    per_lease: dict[tuple[Any, ...], Decimal] = {}
    for c in charged:
        key = leases_repo.BudgetKey(c.key.namespace, c.key.name, c.period)
        _, namespace, name, period, holder, _, cost = leases_repo.ChargeRow("", key, c.holder, c.cost_usd).values()
        per_lease[namespace, name, period, holder] = per_lease.get((namespace, name, period, holder), 0) + cost
    # Spend in the ledger == the charges recorded (a lease's sum saturates at the column's largest value, USD 10^12).
    spend = sum((min(total, storable.MONEY_MAX) for total in per_lease.values()), Decimal(0))
    assert await ledger_spend(database_url) == spend
