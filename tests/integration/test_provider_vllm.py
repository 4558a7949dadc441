"""The vLLM adapter over three fake vLLM servers: round-robin, skipping what cannot be reached."""

from __future__ import annotations

import orjson
import pytest

from gateway.providers import base, errors
from tests.fakes import configs, faults, fixtures, upstreams

vllm_upstreams = fixtures.vllm_upstreams  # until the top-level conftest registers tests.fakes.fixtures

Fakes = tuple[upstreams.VLLMUpstream, ...]
CHAT = orjson.dumps({"model": "meta-llama/Llama-3.1-8B-Instruct", "messages": [{"role": "user", "content": "ping"}]})
STREAM_CHAT = orjson.dumps({**orjson.loads(CHAT), "stream": True, "stream_options": {"include_usage": True}})


def chat(body: bytes = CHAT, *, stream: bool = False) -> base.UpstreamRequest:
    return base.UpstreamRequest(path="/chat/completions", body=body, request_id="req-v", stream=stream)


def served(fakes: Fakes) -> list[int]:
    return [len(fake.requests) for fake in fakes]


async def test_requests_rotate_over_every_endpoint(vllm_upstreams: Fakes) -> None:
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        for _ in range(6):
            response = await adapter.send(chat())
            assert orjson.loads(response.body)["choices"][0]["message"]["content"] == "echo: ping"
    assert served(vllm_upstreams) == [2, 2, 2]


async def test_an_unreachable_endpoint_is_skipped_within_the_same_request(vllm_upstreams: Fakes) -> None:
    await vllm_upstreams[1].close()
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        for _ in range(4):
            await adapter.send(chat())
        stream = await adapter.open_stream(chat(STREAM_CHAT, stream=True))
        relayed = b"".join([chunk async for chunk in stream])
    assert relayed.endswith(b"data: [DONE]\n\n")
    assert served(vllm_upstreams) == [2, 0, 3]


async def test_all_endpoints_unreachable_is_a_connect_failure(vllm_upstreams: Fakes) -> None:
    for fake in vllm_upstreams:
        await fake.close()
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        with pytest.raises(errors.ConnectFailed, match="all 3 endpoints unreachable"):
            await adapter.send(chat())
        probe = await adapter.probe()
    assert (probe.ok, probe.error_class) == (False, "transient")


async def test_a_slow_endpoint_is_not_retried_elsewhere(vllm_upstreams: Fakes) -> None:
    vllm_upstreams[0].script(faults.delay(10))
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm", timeout_s=0.3)) as adapter:
        with pytest.raises(errors.Transient) as caught:
            await adapter.send(chat())
    assert not isinstance(caught.value, errors.ConnectFailed)
    assert served(vllm_upstreams) == [1, 0, 0]


async def test_the_key_is_optional(vllm_upstreams: Fakes) -> None:
    keyed = configs.provider_config(vllm_upstreams, "vllm", api_key="vllm-secret")
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        await adapter.send(chat())
    async with configs.adapter(keyed) as adapter:
        await adapter.send(chat())
    assert "Authorization" not in vllm_upstreams[0].requests[0].headers
    assert vllm_upstreams[0].requests[1].headers["Authorization"] == "Bearer vllm-secret"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (faults.context_overflow(), errors.ContextOverflow),
        (faults.unauthorized(), errors.AuthFailed),
        (faults.server_error(500), errors.Transient),
    ],
)
async def test_vllm_error_bodies_are_classified(
    vllm_upstreams: Fakes, fault: faults.Fault, expected: type[errors.UpstreamError]
) -> None:
    vllm_upstreams[0].script(fault)
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        with pytest.raises(expected):
            await adapter.send(chat())


async def test_the_probe_is_healthy_while_one_endpoint_answers(vllm_upstreams: Fakes) -> None:
    await vllm_upstreams[0].close()
    await vllm_upstreams[2].close()
    async with configs.adapter(configs.provider_config(vllm_upstreams, "vllm")) as adapter:
        result = await adapter.probe()
    assert (result.ok, result.status) == (True, 200)
    assert [(r.method, r.path) for r in vllm_upstreams[1].requests] == [("GET", "/v1/models")]
