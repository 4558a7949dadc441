"""Open a TCP socket to a host: resolve every address, let a guard refuse them, race the rest (happy eyeballs).

The addresses are resolved here, not inside ``loop.create_connection``, so that the egress policy judges the very
addresses that are dialled (a name that resolves elsewhere on the next lookup cannot slip past it), and so that a
refusal happens before any ``connect()``. A name that resolves to any refused address is refused whole: mixed
answers are how DNS rebinding probes. Attempts alternate address families (RFC 8305) and each starts after the
previous one failed or ``delay_s`` passed; the first socket to connect wins and the others are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from gateway.providers.http1 import errors

Address = tuple[int, str]  # address family, address text
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]
# (host, address) -> why a connection there is refused, or None; address None: judge the name alone (a proxy
# will resolve it).
Guard = Callable[[str, str | None], str | None]
HAPPY_EYEBALLS_DELAY_S = 0.25  # RFC 8305 recommends 250 ms between attempts


async def system_resolver(host: str, port: int) -> list[Address]:
    """Every address of ``host`` from the system resolver, in its order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for family, _, _, _, sockaddr in infos:
        entry = (int(family), str(sockaddr[0]))
        if entry not in found:
            found.append(entry)
    return found


def literal(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return (socket.AF_INET6 if address.version == 6 else socket.AF_INET, str(address))


def interleave(addresses: Sequence[Address]) -> list[Address]:
    """The addresses with families alternating, starting with the resolver's first choice (RFC 8305 §4)."""
    if not addresses:
        return []
    first = addresses[0][0]
    preferred = [a for a in addresses if a[0] == first]
    others = [a for a in addresses if a[0] != first]
    merged: list[Address] = []
    for index in range(max(len(preferred), len(others))):
        merged.extend(group[index] for group in (preferred, others) if index < len(group))
    return merged


async def resolve(host: str, port: int, resolver: Resolver, guard: Guard) -> list[Address]:
    """The addresses to dial, after the guard; raises ``EgressDenied`` before any connection when it refuses."""
    found = literal(host)
    if found is not None:
        addresses: Sequence[Address] = [found]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise errors.ConnectError(host, port, f"DNS lookup failed: {exc}", category="DNS lookup failed") from exc
        if not addresses:
            raise errors.ConnectError(host, port, "DNS lookup found no address", category="DNS lookup failed")
    for _, address in addresses:
        reason = guard(host, address)
        if reason is not None:
            raise errors.EgressDenied(host, port, address, reason)
    return interleave(addresses)


async def _attempt(loop: asyncio.AbstractEventLoop, address: Address, port: int) -> socket.socket:
    sock = socket.socket(address[0], socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, (address[1], port))
    except BaseException:
        sock.close()
        raise
    return sock


async def race(addresses: Sequence[Address], port: int, delay_s: float) -> socket.socket:
    """The first socket to connect, trying ``addresses`` in order with staggered starts."""
    loop = asyncio.get_running_loop()
    waiting = list(addresses)
    running: set[asyncio.Task[socket.socket]] = set()
    failures: list[OSError] = []
    winner: socket.socket | None = None
    try:
        while winner is None and (waiting or running):
            if waiting:
                running.add(asyncio.ensure_future(_attempt(loop, waiting.pop(0), port)))
            done, running = await asyncio.wait(
                running, timeout=delay_s if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                exc = task.exception()
                if exc is None and winner is None:
                    winner = task.result()
                elif exc is None:
                    task.result().close()
                elif isinstance(exc, OSError):
                    failures.append(exc)
                else:
                    raise exc
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(BaseException):
                late = await task
                late.close()  # connected as the winner was chosen
    if winner is None:
        raise failures[-1] if failures else OSError("no address to connect to")
    return winner
