"""A hostile upstream answers every way a broken or malicious server can; the gateway stays bounded and clear.

One `tokenhub serve` process per case, its providers pointing at `tests/fakes/hostile.py`. Through each client
API (OpenAI chat completions streamed and not, Anthropic messages streamed and not, native /v1/chat streamed and
not, embeddings) the client gets a 502 in its API's error shape - or, for a stream the upstream had already
started, a 200 whose last event is an error in that shape - with a message that is printable, valid UTF-8 and
bounded; the request has its log row with sane counts; and the gateway process's peak RSS grows by less than
50 MB over the request (the peak is reset through /proc/<pid>/clear_refs before each request, then read from
VmHWM).
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from gateway.providers.wire import sse
from tests.fakes import hostile
from tests.plugins.processes import GatewayProcess
from tests.plugins.replicas import Fleet, StartFleet

MB = 1_000_000
RSS_GROWTH_LIMIT = 50 * MB
ANTHROPIC_KEY = "sk-ant-hostile-0123456789"
# Cases in which a stream has already begun (status 200 and first events sent) when the upstream turns hostile.
STREAM_STARTED = {
    "sse_without_blank_lines",
    "gigabyte_body",
    "completion_tokens_3e9",
    "negative_tokens",
    "body_stops_mid_json",
    "event_never_ends",
    "garbage_stream",
}
PROMPT = [{"role": "user", "content": "say something"}]


@dataclasses.dataclass(frozen=True)
class Api:
    name: str
    path: str
    anthropic_shape: bool
    provider_type: str  # the wire format of the hostile provider behind it
    stream: bool

    def model(self, case: str) -> str:
        return f"{case.replace('_', '-')}-{self.name}"

    @property
    def capability(self) -> str:
        return "embeddings" if self.path == "/v1/embeddings" else "chat"

    def body(self, case: str) -> dict[str, Any]:
        if self.path == "/v1/embeddings":
            return {"model": self.model(case), "input": ["say something", "and more"]}
        if self.path == "/v1/chat":
            request: dict[str, Any] = {
                "model_hint": self.model(case),
                "messages": PROMPT,
                "parameters": {"max_tokens": 16},
            }
            if self.stream:
                request["stream"] = True
            return {"request": request}
        body: dict[str, Any] = {"model": self.model(case), "messages": PROMPT, "max_tokens": 16}
        if self.stream:
            body["stream"] = True
        return body


APIS = [
    Api("openai", "/v1/chat/completions", False, "openai-compatible", False),
    Api("openai-stream", "/v1/chat/completions", False, "openai-compatible", True),
    Api("anthropic", "/v1/messages", True, "anthropic", False),
    Api("anthropic-stream", "/v1/messages", True, "anthropic", True),
    Api("native", "/v1/chat", False, "openai-compatible", False),
    Api("native-stream", "/v1/chat", False, "openai-compatible", True),
    Api("openai-to-anthropic-stream", "/v1/chat/completions", False, "anthropic", True),
    Api("embeddings", "/v1/embeddings", False, "openai-compatible", False),
]


def manifests(upstream: str) -> str:
    """One provider per API, so that no API meets a provider benched by the failures of another."""
    docs = [
        """apiVersion: tokenhub.io/v1alpha1
kind: ApiKey
metadata: {name: tester}
spec: {scopes: [chat, embeddings]}"""
    ]
    for api in APIS:
        key = ", apiKeySecretRef: {name: hostile-creds, key: apiKey}" if api.provider_type == "anthropic" else ""
        docs.append(
            f"""apiVersion: tokenhub.io/v1alpha1
kind: Provider
metadata: {{name: hostile-{api.name}}}
spec: {{type: {api.provider_type}, baseURL: "{upstream}", timeoutSeconds: 20{key}}}"""
        )
        for case in hostile.CASES:
            docs.append(
                f"""apiVersion: tokenhub.io/v1alpha1
kind: Model
metadata: {{name: {api.model(case)}}}
spec:
  providerRef: hostile-{api.name}
  upstreamModel: {case}
  contextWindow: 128000
  pricing: {{inputPer1K: 0.001, outputPer1K: 0.002}}
  capabilities: [{api.capability}]"""
            )
    return "\n---\n".join(docs) + "\n"


def rss(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def error_of(payload: Any, *, anthropic_shape: bool) -> str:
    """The message of an error body in the client's API shape (asserting the shape)."""
    assert isinstance(payload, dict), payload
    if anthropic_shape:
        assert payload["type"] == "error" and set(payload["error"]) == {"type", "message"}, payload
    else:
        assert set(payload["error"]) >= {"message", "type", "param", "code"}, payload
    message = payload["error"]["message"]
    assert isinstance(message, str) and message
    return message


def assert_safe(message: str) -> None:
    assert "\x00" not in message and "\x1b" not in message, message
    assert len(message) <= 2000, len(message)
    message.encode("utf-8")  # a lone surrogate would raise here


async def call(client: httpx.AsyncClient, gateway: GatewayProcess, key: str, api: Api, case: str) -> str:
    """Send one request the way the API's clients do; assert the failure's shape; return its message."""
    headers = {"authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}
    async with client.stream("POST", gateway.url + api.path, json=api.body(case), headers=headers) as response:
        raw = await response.aread()
    raw.decode("utf-8")  # strict: whatever the upstream sent, the client gets valid UTF-8
    if api.stream and case in STREAM_STARTED:
        assert response.status_code == 200, (case, api.name, response.status_code, raw[:500])
        decoder = sse.SseDecoder()
        events = [e for e in decoder.feed(raw) + decoder.flush() if not e.is_done]
        assert events, raw[:500]
        assert not raw.rstrip().endswith(b"data: [DONE]"), "a failed stream does not claim to be done"
        last = events[-1]
        if api.anthropic_shape:
            assert last.event == "error"
        return error_of(orjson.loads(last.data), anthropic_shape=api.anthropic_shape)
    assert response.status_code == 502, (case, api.name, response.status_code, raw[:500])
    return error_of(orjson.loads(raw), anthropic_shape=api.anthropic_shape)


async def hostile_fleet(start: StartFleet, database_url: str, tmp_path: pathlib.Path, url: str) -> tuple[Fleet, str]:
    secret = tmp_path / "apply" / "secrets" / "hostile-creds" / "apiKey"
    secret.parent.mkdir(parents=True)
    secret.write_text(ANTHROPIC_KEY)
    fleet = await start(database_url, manifests(url), count=1, env={"TOKENHUB_LOG_LEVEL": "error"})
    return fleet, fleet.key("tester")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", hostile.CASES)
async def test_a_hostile_upstream_gets_a_clear_bounded_failure_through_every_api(
    case: str, fleet: StartFleet, database_url: str, tmp_path: pathlib.Path
) -> None:
    async with hostile.HostileUpstream() as upstream:
        replicas, key = await hostile_fleet(fleet, database_url, tmp_path, upstream.url)
        (gateway,) = replicas.gateways
        pid = gateway.proc.pid
        growth: dict[str, int] = {}
        async with httpx.AsyncClient(timeout=60) as client:
            for api in APIS:
                before = rss(pid, "VmRSS")
                reset_peak(pid)
                message = await call(client, gateway, key, api, case)
                assert_safe(message)
                growth[api.name] = rss(pid, "VmHWM") - before
        assert max(growth.values()) < RSS_GROWTH_LIMIT, growth
        rows = await rows_when_logged(replicas, len(APIS))
        for status, error_class, error_message, input_tokens, output_tokens, cost, attempts in rows:
            assert status == 502 and error_class, rows
            assert error_message is None or ("\x00" not in error_message and len(error_message) <= 1000)
            assert 0 <= input_tokens < 1_000_000 and 0 <= output_tokens < 1_000_000, rows
            assert Decimal(0) <= cost < Decimal(1), rows
            assert all(a["outcome"] in KNOWN_OUTCOMES for a in attempts), attempts


KNOWN_OUTCOMES = {"ok", "transient", "malformed_response", "fatal", "stream_broken"}


async def rows_when_logged(fleet: Fleet, count: int) -> list[tuple[Any, ...]]:
    for _ in range(300):
        rows = await fleet.query(
            "SELECT status, error_class, error_message, input_tokens, output_tokens, cost_usd, attempts "
            "FROM request_logs ORDER BY created_at"
        )
        if len(rows) >= count:
            assert len(rows) == count, rows
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} request-log rows")
