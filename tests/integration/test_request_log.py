"""Every request writes exactly one request-log row, through the batched writer, and SIGTERM flushes it.

Successes, refusals and upstream failures arriving together each get their own row with their own status; a
``tokenhub serve`` process stopped with SIGTERM right after answering still has every row in Postgres.
"""

from __future__ import annotations

import asyncio
import pathlib
import signal
from collections.abc import Callable, Mapping
from decimal import Decimal

import httpx
import openai
import psycopg

from gateway import standalone
from tests.fakes import faults, upstreams
from tests.fakes import fixtures as fake_fixtures
from tests.plugins.gateway import Gateway, render_manifests
from tests.plugins.processes import GatewayProcess

StartGateway = Callable[[list[str], Mapping[str, str]], GatewayProcess]


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the fake offers no event to wait on
            await asyncio.sleep(0.01)


async def test_concurrent_requests_each_get_one_row_with_their_own_outcome(gateway: Gateway) -> None:
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:

        async def ask(model: str, index: int) -> int:
            try:
                await sdk.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": f"request {index}"}],
                    extra_headers={"X-Request-Id": f"req-{index:02d}"},
                )
            except openai.APIStatusError as exc:
                return exc.status_code
            return 200

        models = ["gpt", "claude", "llama", "missing"] * 6
        statuses = await asyncio.gather(*(ask(model, i) for i, model in enumerate(models)))
    assert statuses == [404 if model == "missing" else 200 for model in models]
    rows = await gateway.log_rows(len(models), "request_id, status, model, cost_usd, overhead_ms, latency_ms")
    assert len(rows) == len(models)
    by_id = {row[0]: row for row in rows}
    assert sorted(by_id) == [f"req-{i:02d}" for i in range(len(models))]
    for index, model in enumerate(models):
        _, status, logged_model, cost, overhead, latency = by_id[f"req-{index:02d}"]
        if model == "missing":
            assert (status, logged_model, cost) == (404, None, 0)
        else:
            assert status == 200 and logged_model == model and cost > 0
            assert 0 <= overhead <= latency


async def test_overhead_header_matches_the_logged_overhead(gateway: Gateway) -> None:
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model="gpt", messages=[{"role": "user", "content": "x"}]
        )
    ((overhead, latency),) = await gateway.log_rows(1, "overhead_ms, latency_ms")
    assert 0 <= float(raw.headers["x-tokenhub-overhead-ms"]) <= overhead + 1
    assert overhead < latency


async def test_sigterm_flushes_the_request_log_of_a_serving_process(
    start_gateway: StartGateway, database_url: str, tmp_path: pathlib.Path
) -> None:
    async with (
        upstreams.OpenAIUpstream(api_key=fake_fixtures.OPENAI_KEY) as openai_fake,
        upstreams.AnthropicUpstream(api_key=fake_fixtures.ANTHROPIC_KEY) as anthropic_fake,
        upstreams.VLLMUpstream() as vllm_fake,
    ):
        folder = tmp_path / "manifests"
        folder.mkdir()
        (folder / "config.yaml").write_text(render_manifests(openai_fake, anthropic_fake, (vllm_fake,)))
        data_dir = tmp_path / "data"
        env = {
            "TOKENHUB_DATABASE_URL": database_url,
            "TOKENHUB_DATA_DIR": str(data_dir),
            "TOKENHUB_VAULT_PASSWORD": "a long enough vault password",
            standalone.secret_env_name("openai-creds", "apiKey"): fake_fixtures.OPENAI_KEY,
            standalone.secret_env_name("anthropic-creds", "apiKey"): fake_fixtures.ANTHROPIC_KEY,
        }
        process = start_gateway(["-f", str(folder)], env)
        await asyncio.to_thread(process.wait_ready)
        key = (data_dir / "keys" / "default" / "tester").read_text().strip()
        anthropic_fake.script(faults.delay(0.5))
        count = 12
        async with httpx.AsyncClient(base_url=process.url, headers={"authorization": f"Bearer {key}"}) as http:
            body = {"model": "claude", "messages": [{"role": "user", "content": "flush me"}]}
            slow = asyncio.create_task(http.post("/v1/chat/completions", json=body))
            await until(lambda: bool(anthropic_fake.requests))  # the slow one is upstream before the others
            responses = await asyncio.gather(*(http.post("/v1/chat/completions", json=body) for _ in range(count)))
            process.proc.send_signal(signal.SIGTERM)
            in_flight = await slow
        assert [r.status_code for r in responses] == [200] * count
        assert in_flight.status_code == 200, "an in-flight request finishes during the drain"
        assert await asyncio.to_thread(process.proc.wait, 30) == 0, process.log()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*), sum(cost_usd) FROM request_logs WHERE status = 200")
        logged = await cur.fetchone()
    assert logged is not None
    assert logged[0] == count + 1
    assert logged[1] == (count + 1) * (Decimal("0.003") * 2 + Decimal("0.015") * 3) / 1000


async def test_model_listings_are_logged_too_refusals_included(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        listed = await client.get("/v1/models", headers={"authorization": f"Bearer {gateway.key}"})
        refused = await client.get("/v1/models", headers={"authorization": "Bearer thk_wrong"})
    assert (listed.status_code, refused.status_code) == (200, 401)
    rows = await gateway.log_rows(2, "request_id, endpoint, status, error_class, key_id IS NOT NULL, model, cost_usd")
    assert [row[1:] for row in rows] == [
        ("models", 200, None, True, None, Decimal(0)),
        ("models", 401, "unauthenticated", False, None, Decimal(0)),
    ]
    assert rows[0][0] == listed.headers["x-tokenhub-request-id"]
