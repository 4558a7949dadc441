"""`tokenhub migrate` as the schema owner lets a role without any DDL right serve with TOKENHUB_MIGRATE=check.

This is how the chart deploys: a pre-install Job migrates as the owner, gateways and the operator connect as a
role that may only read and write rows, and a schema that is behind stops them with one line saying what to run.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping

import openai
import psycopg
import pytest
from psycopg import conninfo

from gateway import standalone
from tests.fakes import fixtures as fake_fixtures
from tests.fakes import upstreams
from tests.plugins.gateway import render_manifests
from tests.plugins.processes import GatewayProcess

StartGateway = Callable[[list[str], Mapping[str, str]], GatewayProcess]
VAULT_PASSWORD = "a long enough vault password"


def as_role(url: str, role: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    params["user"] = role
    return conninfo.make_conninfo(**params)  # type: ignore[arg-type]


@pytest.fixture
def serving_role(empty_database_url: str) -> Iterator[str]:
    """A login role with no CREATE on the schema (nor anywhere): what a production gateway connects as."""
    role = f"th_app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE".encode())
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    yield role
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}".encode())
        conn.execute(f"DROP ROLE {role}".encode())


def tokenhub(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_role_without_ddl_rights_serves_after_tokenhub_migrate_ran_as_the_owner(
    empty_database_url: str, serving_role: str, start_gateway: StartGateway, tmp_path: pathlib.Path
) -> None:
    owner_env = {"TOKENHUB_DATABASE_URL": empty_database_url}
    app_url = as_role(empty_database_url, serving_role)
    app_env = {"TOKENHUB_DATABASE_URL": app_url, "TOKENHUB_MIGRATE": "check", "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD}

    behind = start_gateway([], app_env)
    assert await asyncio.to_thread(behind.proc.wait, 60) == 1
    assert "run `tokenhub migrate`" in behind.log()
    assert "0001_init.sql" in behind.log()

    pending = await asyncio.to_thread(tokenhub, "migrate", "--check", env=app_env)
    assert pending.returncode == 1
    assert "pending 0001_init.sql" in pending.stdout

    refused = await asyncio.to_thread(tokenhub, "migrate", env={**app_env, "TOKENHUB_MIGRATE": "auto"})
    assert refused.returncode == 1
    assert "permission denied" in refused.stderr
    assert "Traceback" not in refused.stderr

    migrated = await asyncio.to_thread(tokenhub, "migrate", "--grant-to", serving_role, env=owner_env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_init.sql" in migrated.stdout
    assert f"granted row rights to {serving_role}" in migrated.stdout
    again = await asyncio.to_thread(tokenhub, "migrate", env=owner_env)
    assert again.stdout.splitlines()[0].startswith("schema is at version")
    up_to_date = await asyncio.to_thread(tokenhub, "migrate", "--check", env=app_env)
    assert up_to_date.stdout == "schema is up to date\n"

    # Serving writes config, keys, leases and the request log (through a temporary table) - rows only.
    async with (
        upstreams.OpenAIUpstream(api_key=fake_fixtures.OPENAI_KEY) as openai_fake,
        upstreams.AnthropicUpstream(api_key=fake_fixtures.ANTHROPIC_KEY) as anthropic_fake,
        upstreams.VLLMUpstream() as vllm_fake,
    ):
        folder = tmp_path / "manifests"
        folder.mkdir()
        (folder / "config.yaml").write_text(render_manifests(openai_fake, anthropic_fake, (vllm_fake,)))
        data_dir = tmp_path / "data"
        serve_env = {
            **app_env,
            "TOKENHUB_DATA_DIR": str(data_dir),
            standalone.secret_env_name("openai-creds", "apiKey"): fake_fixtures.OPENAI_KEY,
            standalone.secret_env_name("anthropic-creds", "apiKey"): fake_fixtures.ANTHROPIC_KEY,
        }
        gateway = start_gateway(["-f", str(folder)], serve_env)
        await asyncio.to_thread(gateway.wait_ready)
        key = (data_dir / "keys" / "default" / "tester").read_text().strip()
        async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0) as sdk:
            reply = await sdk.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
        assert await asyncio.to_thread(gateway.terminate) == 0, gateway.log()
    async with await psycopg.AsyncConnection.connect(app_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM request_logs WHERE status = 200")
        assert await cur.fetchone() == (1,)

    # "auto" reads before it writes: an up-to-date schema needs no DDL right either.
    auto = start_gateway([], {**app_env, "TOKENHUB_MIGRATE": "auto"})
    await asyncio.to_thread(auto.wait_ready)
    assert await asyncio.to_thread(auto.terminate) == 0, auto.log()

    operator = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tokenhub_operator", "check"],
        env={**os.environ, **app_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert operator.returncode == 0, operator.stderr
    assert "schema current" in operator.stdout


def test_an_unknown_migrate_mode_names_the_variable(database_url: str) -> None:
    result = tokenhub("serve", env={"TOKENHUB_DATABASE_URL": database_url, "TOKENHUB_MIGRATE": "sometimes"})
    assert result.returncode == 2
    assert "TOKENHUB_MIGRATE must be auto, check or off" in result.stderr


def test_migrate_off_serves_a_schema_it_does_not_recognise_where_check_refuses(
    database_url: str, start_gateway: StartGateway
) -> None:
    """``off`` trusts whoever runs the database (a schema migrated by a newer release, say); ``check`` does not."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')")
    env = {"TOKENHUB_DATABASE_URL": database_url, "TOKENHUB_VAULT_PASSWORD": VAULT_PASSWORD}
    checked = start_gateway([], {**env, "TOKENHUB_MIGRATE": "check"})
    assert checked.proc.wait(60) == 1
    assert "migrations [999] this version does not know" in checked.log()
    trusting = start_gateway([], {**env, "TOKENHUB_MIGRATE": "off"})
    trusting.wait_ready()
    assert trusting.terminate() == 0, trusting.log()
