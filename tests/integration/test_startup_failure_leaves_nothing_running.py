"""A replica that cannot load its configuration at start fails with the store's error and leaves nothing running
(the harness fails any test that leaks an asyncio task): the background loops it had started are stopped."""

from __future__ import annotations

import pathlib

import pytest

from gateway import app as app_mod
from gateway import settings as settings_mod
from gateway.store import errors


async def test_a_start_without_postgres_raises_and_stops_the_loops_it_started(tmp_path: pathlib.Path) -> None:
    settings = settings_mod.Settings(health_probes=False, data_dir=tmp_path)
    runtime = app_mod.create_runtime(settings, "postgresql://127.0.0.1:1/nowhere", None)
    with pytest.raises(errors.StoreUnavailable, match="cannot load configuration"):
        await runtime.start()
    loops = runtime.supervisor.loops
    assert {"log-writer", "lease-refill", "lease-upkeep"} <= set(loops)
    assert all(handle.done for handle in loops.values())
    assert not runtime.ready
