"""Dialling: addresses judged before any connect(), families interleaved, the first connection wins, the pool waits
a bounded time. Every address dialled is on loopback; others only ever reach the guard, which refuses them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence

import pytest

from gateway.config import egress
from gateway.providers import base, session
from gateway.providers.http1 import client as http1
from gateway.providers.http1 import dialing
from gateway.providers.http1 import errors as http_errors
from tests.unit.gateway.providers.test_http1_client import RawServer, fixed

V4, V6 = socket.AF_INET, socket.AF_INET6


def answering(*addresses: dialing.Address) -> tuple[dialing.Resolver, list[str]]:
    """A stub resolver that answers every name with ``addresses``, and the names it was asked for."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[dialing.Address]:
        asked.append(host)
        return list(addresses)

    return resolve, asked


def strict_client(resolver: dialing.Resolver, policy: egress.Policy | None = None) -> http1.Client:
    rules = session.Egress(policy=policy or egress.Policy.parse(None, None), resolver=resolver)
    return session.client_factory(rules)(base.ProviderConfig("t/p", "openai", ("http://up.test/v1",), None, 2.0))


@pytest.fixture
async def listening() -> AsyncIterator[RawServer]:
    async with RawServer(lambda _: fixed(b"{}")) as server:
        yield server


@pytest.mark.parametrize(
    "answer",
    [(V4, "169.254.169.254"), (V6, "fd00:ec2::254"), (V4, "10.0.0.5"), (V6, "fe80::1"), (V4, "127.0.0.1")],
)
async def test_a_name_resolving_to_a_refused_address_is_refused_before_any_connection(
    listening: RawServer, answer: dialing.Address
) -> None:
    resolver, asked = answering(answer)
    client = strict_client(resolver)
    try:
        with pytest.raises(http_errors.EgressDenied) as caught:
            await client.request("POST", f"http://rebind.test:{listening.port}/v1/x", {}, b"{}")
    finally:
        await client.close()
    assert asked == ["rebind.test"]
    assert caught.value.address == answer[1]
    assert listening.connections == 0


async def test_one_refused_address_among_public_ones_refuses_the_name(listening: RawServer) -> None:
    resolver, _ = answering((V4, "93.184.216.34"), (V4, "127.0.0.1"))
    client = strict_client(resolver)
    try:
        with pytest.raises(http_errors.EgressDenied):
            await client.request("POST", f"http://mixed.test:{listening.port}/v1/x", {}, b"{}")
    finally:
        await client.close()
    assert listening.connections == 0


async def test_loopback_denied_by_policy_records_no_connection_on_the_listening_server(listening: RawServer) -> None:
    resolver, asked = answering()
    client = strict_client(resolver, egress.Policy.parse("127.0.0.0/8", "127.0.0.1/32"))
    try:
        with pytest.raises(http_errors.EgressDenied, match="TOKENHUB_PROVIDER_DENY"):
            await client.request("POST", listening.url, {}, b"{}")
    finally:
        await client.close()
    assert asked == []  # a literal address is never resolved
    assert listening.connections == 0


async def test_an_allowed_address_connects(listening: RawServer) -> None:
    resolver, _ = answering((V4, "127.0.0.1"))
    client = strict_client(resolver, egress.Policy.parse("127.0.0.0/8", None))
    try:
        resp = await client.request("POST", f"http://allowed.test:{listening.port}/v1/x", {}, b"{}")
        assert await resp.read() == b"{}"
        resp.release()
    finally:
        await client.close()
    assert listening.connections == 1
    assert b"Host: allowed.test:%d" % listening.port in listening.requests[0]


def test_families_alternate_starting_with_the_resolvers_first() -> None:
    addresses = [(V6, "::1"), (V6, "::2"), (V6, "::3"), (V4, "127.0.0.1"), (V4, "127.0.0.2")]
    assert dialing.interleave(addresses) == [
        (V6, "::1"),
        (V4, "127.0.0.1"),
        (V6, "::2"),
        (V4, "127.0.0.2"),
        (V6, "::3"),
    ]


async def test_a_refused_first_address_falls_back_to_the_next_family(listening: RawServer) -> None:
    # Nothing listens on [::1] at that port (the server is IPv4 only): its refusal starts the IPv4 attempt at once.
    started = asyncio.get_running_loop().time()
    sock = await dialing.race([(V6, "::1"), (V4, "127.0.0.1")], listening.port, delay_s=5.0)
    try:
        assert sock.family == V4
    finally:
        sock.close()
    assert asyncio.get_running_loop().time() - started < 2.5  # well before the 5 s stagger


async def test_a_hanging_first_address_gives_way_after_the_stagger(listening: RawServer) -> None:
    # On 127.0.0.2, at the server's port, a listener that never accepts and whose backlog is full: a further
    # connect there hangs (its SYNs are dropped) - the slow first address of happy eyeballs.
    stuck = socket.socket(V4, socket.SOCK_STREAM)
    stuck.bind(("127.0.0.2", listening.port))
    stuck.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket(V4, socket.SOCK_STREAM)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(stuck.getsockname())
        fillers.append(filler)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(5):
            sock = await dialing.race([(V4, "127.0.0.2"), (V4, "127.0.0.1")], listening.port, delay_s=0.3)
        elapsed = loop.time() - started
        try:
            assert sock.getpeername() == ("127.0.0.1", listening.port)
        finally:
            sock.close()
        assert 0.25 < elapsed < 3  # the second attempt started after the stagger, not after a connect timeout
    finally:
        for filler in fillers:
            filler.close()
        stuck.close()


async def test_waiting_for_a_pooled_connection_has_its_own_limit(listening: RawServer) -> None:
    client = http1.Client(connect_timeout_s=2, limit=1, pool_timeout_s=0.2)
    try:
        held = await client.request("POST", listening.url, {}, b"{}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(http_errors.PoolTimeout):
            await client.request("POST", listening.url, {}, b"{}")
        assert 0.15 < loop.time() - started < 2
        await held.read()
        held.release()
        again = await client.request("POST", listening.url, {}, b"{}")  # the slot came back
        await again.read()
        again.release()
    finally:
        await client.close()
