"""The public API, fuzzed from its own OpenAPI document against a running gateway: no answer is a 5xx, every
refusal is in the error shape of the API the client speaks, and what the document calls invalid is refused.

Schemathesis draws requests that match the document (reaching routing and the fake upstreams: a body's model is
often swapped for one the config serves) and requests that break it, with the all-scopes key and without a key.
Examples are bounded and derandomized so a CI run is reproducible and takes about a minute on two cores.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import hypothesis
import orjson
import psycopg
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from gateway.api import openapi
from tests.integration import fuzz_target
from tests.plugins import pg

Case = schemathesis.Case[Any]
SCHEMA = schemathesis.openapi.from_dict(openapi.document())
SCHEMA.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]
FUZZ = hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: report the first failure
)
TIMEOUT_S = 15


@SCHEMA.hook
def flatmap_case(context: Any, case: Case) -> st.SearchStrategy[Case]:
    """A valid body names a model the config serves half the time, so it reaches routing and an upstream."""
    body = case.body
    if case.meta is None or case.meta.is_negative_at(ParameterLocation.BODY) or not isinstance(body, dict):
        return st.just(case)
    native = isinstance(body.get("request"), dict)
    if not native and "model" not in body:
        return st.just(case)

    def named(model: str | None) -> Case:
        if model is not None:
            inner: dict[str, Any] = body["request"] if native else body  # type: ignore[assignment]  # checked above
            inner["model_hint" if native else "model"] = model
        return case

    return st.sampled_from((None, *fuzz_target.MODELS)).map(named)


@pytest.fixture(scope="module")
def target(
    pg_server_url: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[fuzz_target.Target]:
    tmp_path: pathlib.Path = tmp_path_factory.mktemp("fuzz")
    with pg.database(pg_server_url, pg_template) as database_url:
        yield from fuzz_target.running(database_url, tmp_path)


def _anthropic_client(case: Case) -> bool:
    headers = {name.lower() for name in (case.headers or {})}
    return case.path.startswith("/v1/messages") or (case.path == "/v1/models" and "anthropic-version" in headers)


def assert_error_shape(case: Case, status: int, content: bytes) -> None:
    """A refusal carries the error object of the API the client speaks, with every field its SDK reads."""
    body = orjson.loads(content)
    if _anthropic_client(case):
        assert body["type"] == "error", body
        assert isinstance(body["error"]["type"], str) and isinstance(body["error"]["message"], str), body
    else:
        error = body["error"]
        assert set(error) >= {"message", "type", "param", "code"}, body
        assert isinstance(error["message"], str) and isinstance(error["type"], str), body
        assert error["param"] is None or isinstance(error["param"], str), body
        assert error["code"] is None or isinstance(error["code"], str), body


def check(case: Case, target: fuzz_target.Target, headers: dict[str, str]) -> None:
    response = case.call(base_url=target.url, headers=headers, timeout=TIMEOUT_S)
    reproduce = f"{case.as_curl_command(headers=headers)}\n-> {response.status_code} {response.content[:500]!r}"
    assert response.status_code < 500, f"{reproduce}\ngateway log:\n{target.process.log()[-4000:]}"
    if response.status_code >= 400:
        try:
            assert_error_shape(case, response.status_code, response.content)
        except (AssertionError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            raise AssertionError(f"not the API's error shape: {exc!r}\n{reproduce}") from exc
    case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={"base_url": target.url})


@SCHEMA.parametrize()
@FUZZ
def test_fuzzed_requests_with_a_valid_key_get_no_5xx_and_refusals_in_the_apis_shape(
    case: Case, target: fuzz_target.Target
) -> None:
    check(case, target, {"authorization": f"Bearer {target.key}"})


@SCHEMA.parametrize()
@FUZZ
def test_fuzzed_requests_without_a_valid_key_get_no_5xx_and_refusals_in_the_apis_shape(
    case: Case, target: fuzz_target.Target
) -> None:
    check(case, target, {})


def test_the_fuzzed_gateway_logged_no_unhandled_error_and_kept_writing_its_request_log(
    target: fuzz_target.Target,
) -> None:
    assert target.process.proc.poll() is None, "the gateway exited while fuzzed"
    log = target.process.log()
    assert "Traceback" not in log, log[-8000:]
    assert "request log write failed" not in log, log[-8000:]
    with psycopg.connect(target.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM request_logs").fetchone()
    assert row is not None and row[0] > 0
    assert any(fake.requests for fake in target.upstreams), "no valid request got past validation to an upstream"
