"""The HTTP/1.1 client against small raw servers on loopback: framing, reuse, failures, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.providers.http1 import client as http1
from gateway.providers.http1 import connection
from gateway.providers.http1 import errors as http_errors
from tests.fakes import raw_http


class RawServer(raw_http.LoopbackServer):
    """Answers each request with what ``reply`` returns; counts connections and keeps the requests it read."""

    def __init__(self, reply: Callable[[bytes], list[bytes | float | None]]) -> None:
        super().__init__()
        self.reply = reply
        self.requests: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/x"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, body = await raw_http.read_request(reader)
                self.requests.append(head + body)
                for part in self.reply(head + body):
                    if part is None:  # close the connection here
                        writer.close()
                        return
                    if isinstance(part, float):
                        await asyncio.sleep(part)
                        continue
                    writer.write(part)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def fixed(body: bytes) -> list[bytes | float | None]:
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]


@pytest.fixture
async def client() -> AsyncIterator[http1.Client]:
    c = http1.Client(connect_timeout_s=2)
    yield c
    await c.close()


async def test_a_response_with_a_length_is_read_and_its_connection_reused(client: http1.Client) -> None:
    async with RawServer(lambda _: fixed(b'{"ok": true}')) as server:
        for _ in range(3):
            resp = await client.request("POST", server.url, {"x-request-id": "r1"}, b'{"q": 1}')
            assert resp.status == 200 and resp.headers["content-type"] == "application/json"
            assert await resp.read() == b'{"ok": true}'
            resp.release()
        assert server.connections == 1
        sent = server.requests[0]
        assert sent.startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port)
        assert b"x-request-id: r1\r\n" in sent and b"Content-Length: 8\r\n" in sent and sent.endswith(b'{"q": 1}')


async def test_a_chunked_stream_arrives_in_pieces_and_ends(client: http1.Client) -> None:
    def reply(_: bytes) -> list[bytes | float | None]:
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return [head, b"5\r\nhello\r\n", 0.05, b"6\r\n world\r\n", 0.05, b"0\r\n\r\n"]

    async with RawServer(reply) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        pieces = []
        while piece := await resp.read_some(idle_s=2):
            pieces.append(piece)
        assert b"".join(pieces) == b"hello world" and len(pieces) >= 2
        assert resp.at_eof
        resp.release()
        again = await client.request("POST", server.url, {}, b"{}")
        assert await again.read() == b"hello world"
        again.release()
        assert server.connections == 1


async def test_a_body_without_length_ends_with_the_connection_which_is_not_reused(client: http1.Client) -> None:
    reply = [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"all of it", None]
    async with RawServer(lambda _: list(reply)) as server:
        resp = await client.request("GET", server.url, {})
        assert await resp.read() == b"all of it"
        resp.release()
        resp = await client.request("GET", server.url, {})
        assert await resp.read() == b"all of it"
        resp.release()
        assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(client: http1.Client) -> None:
    async with RawServer(lambda _: [*fixed(b"{}"), None]) as server:
        for _ in range(2):
            resp = await client.request("POST", server.url, {}, b"{}")
            assert await resp.read() == b"{}"
            resp.release()
            await asyncio.sleep(0.05)  # the server's close arrives
        assert server.connections == 2


async def test_a_body_cut_short_raises_connection_closed(client: http1.Client) -> None:
    reply = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"only part", None]
    async with RawServer(lambda _: list(reply)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert await resp.read_some(idle_s=2) == b"only part"
        with pytest.raises(http_errors.ConnectionClosed):
            await resp.read_some(idle_s=2)
        resp.release()


async def test_a_stalled_body_times_out_after_the_idle_limit(client: http1.Client) -> None:
    reply: list[bytes | float | None] = [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 5.0]
    async with RawServer(lambda _: list(reply)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert await resp.read_some(idle_s=0.2) == b"abc"
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await resp.read_some(idle_s=0.2)
        assert 0.15 < loop.time() - started < 2
        resp.release()


async def test_an_answer_that_is_not_http_is_a_protocol_error(client: http1.Client) -> None:
    async with RawServer(lambda _: [b"SSH-2.0-OpenSSH_9\r\n\r\n", None]) as server:
        with pytest.raises(http_errors.ProtocolError):
            await client.request("POST", server.url, {}, b"{}")


async def test_a_refused_connection_is_a_connect_error(client: http1.Client) -> None:
    async with RawServer(lambda _: fixed(b"{}")) as server:
        url = server.url
    with pytest.raises(http_errors.ConnectError, match=r"cannot connect to 127\.0\.0\.1"):
        await client.request("POST", url, {}, b"{}")


@pytest.mark.parametrize(
    "headers",
    [{"x-evil": "a\r\nInjected: yes"}, {"x-bad\nname": "v"}, {"x-uni": "caf\u00e9 \u2603"}],
)
async def test_headers_that_would_break_the_request_are_refused(client: http1.Client, headers: dict[str, str]) -> None:
    with pytest.raises(http_errors.InvalidRequest):
        await client.request("POST", "http://127.0.0.1:9/v1/x", headers, b"{}")


@pytest.mark.parametrize("url", ["ftp://host/x", "http:///nohost", "http://host:99999/x", "notaurl"])
def test_urls_the_client_cannot_serve_are_refused(url: str) -> None:
    with pytest.raises(http_errors.InvalidRequest):
        http1.parse_target(url)


def test_framing_headers_are_the_clients_own() -> None:
    target = http1.parse_target("https://api.example.test/v1/chat?x=1")
    head = http1.request_head("POST", target, {"content-length": "1", "host": "evil", "x-a": "b"}, 2, b"tokenhub")
    assert head == (
        b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: api.example.test\r\nx-a: b\r\nUser-Agent: tokenhub\r\n"
        b"Content-Length: 2\r\n\r\n"
    )
    assert target.origin == ("https", "api.example.test", 443)


async def test_reading_pauses_while_the_consumer_lags_and_resumes() -> None:
    size = connection.HIGH_WATER * 3
    client = http1.Client(connect_timeout_s=2)
    reply = [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size, b"x" * size]
    try:
        async with RawServer(lambda _: list(reply)) as server:
            resp = await client.request("POST", server.url, {}, b"{}")
            await asyncio.sleep(0.2)  # let the server push: the client stops reading past the high-water mark
            first = await resp.read_some(idle_s=2)
            assert connection.HIGH_WATER <= len(first) < size
            assert len(first) + len(await resp.read()) == size
            resp.release()
    finally:
        await client.close()


async def test_the_connection_limit_makes_further_requests_wait() -> None:
    client = http1.Client(connect_timeout_s=2, limit=1)
    try:
        async with RawServer(lambda _: fixed(b"{}")) as server:
            first = await client.request("POST", server.url, {}, b"{}")
            second = asyncio.ensure_future(client.request("POST", server.url, {}, b"{}"))
            await asyncio.sleep(0.1)
            assert not second.done()
            assert await first.read() == b"{}"
            first.release()
            resp = await asyncio.wait_for(second, 2)
            assert await resp.read() == b"{}"
            resp.release()
            assert server.connections == 1
    finally:
        await client.close()


async def test_a_cancelled_request_closes_its_connection_and_frees_its_slot() -> None:
    client = http1.Client(connect_timeout_s=2, limit=1)
    try:
        async with RawServer(lambda _: [5.0]) as server:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await client.request("POST", server.url, {}, b"{}")
        async with RawServer(lambda _: fixed(b"{}")) as server:
            resp = await asyncio.wait_for(client.request("POST", server.url, {}, b"{}"), 2)
            assert await resp.read() == b"{}"
            resp.release()
    finally:
        await client.close()


def _tls_pair(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 and ``localhost``, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokenhub test upstream")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


async def test_https_verifies_the_server_certificate_and_reuses_the_connection(tmp_path: Path) -> None:
    server_context, client_context = _tls_pair(tmp_path)
    handlers: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    trusting = http1.Client(connect_timeout_s=2, ssl_context=client_context)
    default = http1.Client(connect_timeout_s=2)  # the system's trust store: the test certificate is not in it
    try:
        for url in (f"https://localhost:{port}/v1/models", f"https://localhost:{port}/v1/models"):
            resp = await trusting.request("GET", url, {})
            assert await resp.read() == b"secure"
            resp.release()
        assert len(handlers) == 1
        with pytest.raises(http_errors.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await default.request("GET", f"https://localhost:{port}/v1/models", {})
    finally:
        await trusting.close()
        await default.close()
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def test_a_pooled_connection_closed_as_the_request_goes_out_is_replaced_once(client: http1.Client) -> None:
    answers: Iterator[list[bytes | float | None]] = iter(
        [fixed(b'{"n": 1}'), [None], fixed(b'{"n": 2}')]
    )  # the 2nd request meets a closing server
    async with RawServer(lambda _: list(next(answers))) as server:
        first = await client.request("POST", server.url, {}, b"{}")
        assert await first.read() == b'{"n": 1}'
        first.release()
        second = await client.request("POST", server.url, {}, b"{}")
        assert await second.read() == b'{"n": 2}'
        second.release()
        assert server.connections == 2 and len(server.requests) == 3


async def test_a_new_connection_closed_without_an_answer_is_an_error_not_a_resend(client: http1.Client) -> None:
    async with RawServer(lambda _: [None]) as server:
        with pytest.raises(http_errors.ConnectionClosed):
            await client.request("POST", server.url, {}, b"{}")
        assert len(server.requests) == 1


async def test_a_response_head_beyond_the_limit_is_refused(client: http1.Client) -> None:
    huge = b"X-Filler: " + b"a" * connection.MAX_HEADER_BYTES + b"\r\n"
    async with RawServer(lambda _: [b"HTTP/1.1 200 OK\r\n" + huge + b"Content-Length: 0\r\n\r\n"]) as server:
        with pytest.raises(http_errors.ProtocolError, match="larger than"):
            await client.request("POST", server.url, {}, b"{}")


def endless(head: bytes, piece: bytes, pieces: int) -> Callable[[bytes], list[bytes | float | None]]:
    """A reply that starts with ``head`` and sends ``piece`` ``pieces`` times (far past any limit), then closes."""
    return lambda _: [head, *([piece] * pieces), None]


async def test_one_endless_header_line_is_refused_at_the_limit_not_buffered(client: http1.Client) -> None:
    reply = endless(b"HTTP/1.1 200 OK\r\nX-Endless: ", b"a" * 4096, 4096)  # 16 MiB, no line break ever
    async with RawServer(reply) as server:
        with pytest.raises(http_errors.ProtocolError, match="larger than"):
            await client.request("POST", server.url, {}, b"{}")


async def test_endless_small_headers_are_refused_at_the_limit(client: http1.Client) -> None:
    reply = endless(b"HTTP/1.1 200 OK\r\n", b"".join(b"X-%d: 1\r\n" % i for i in range(400)), 1000)
    async with RawServer(reply) as server:
        with pytest.raises(http_errors.ProtocolError, match="larger than"):
            await client.request("POST", server.url, {}, b"{}")


async def test_an_endless_status_line_is_refused_at_the_limit(client: http1.Client) -> None:
    async with RawServer(endless(b"HTTP/1.1 200 ", b"O" * 4096, 4096)) as server:
        with pytest.raises(http_errors.ProtocolError, match="larger than"):
            await client.request("POST", server.url, {}, b"{}")


async def test_an_endless_trailer_after_the_last_chunk_is_refused_at_the_limit(client: http1.Client) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: "
    async with RawServer(endless(head, b"t" * 4096, 4096)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert await resp.read_some(idle_s=2) == b"hello"
        with pytest.raises(http_errors.ProtocolError, match="larger than"):
            await resp.read_some(idle_s=2)
        resp.release()


async def test_a_long_chunked_stream_with_small_framing_is_not_mistaken_for_an_endless_head(
    client: http1.Client,
) -> None:
    event = b"data: {}\n\n"
    chunk = b"%x\r\n%s\r\n" % (len(event), event)
    reply = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunk * 20_000, b"0\r\n\r\n"]
    async with RawServer(lambda _: list(reply)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert await resp.read() == event * 20_000  # 200 KB of framing in all, but never 64 KiB without a body byte
        resp.release()


async def test_a_head_just_under_the_limit_arriving_in_pieces_is_read(client: http1.Client) -> None:
    headers = b"".join(b"X-Pad-%04d: %s\r\n" % (i, b"v" * 40) for i in range(1000))  # about 56 KiB
    assert len(headers) < connection.MAX_HEADER_BYTES
    pieces = [headers[i : i + 1000] for i in range(0, len(headers), 1000)]
    reply: list[bytes | float | None] = [b"HTTP/1.1 200 OK\r\n"]
    for piece in pieces:
        reply += [piece, 0.0005]
    reply.append(b"Content-Length: 2\r\n\r\n{}")
    async with RawServer(lambda _: list(reply)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert resp.headers["x-pad-0999"] == "v" * 40
        assert await resp.read() == b"{}"
        resp.release()


async def test_a_body_declared_longer_than_the_cap_is_refused_before_it_is_read(client: http1.Client) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 30)
    async with RawServer(endless(head, b"x" * 65536, 16)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        with pytest.raises(http_errors.BodyTooLarge):
            await resp.read_all(1 << 20)
        resp.release()


async def test_a_chunked_body_past_the_cap_is_refused_once_it_passes(client: http1.Client) -> None:
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
    async with RawServer(endless(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, 64)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        with pytest.raises(http_errors.BodyTooLarge, match=str(1 << 20)):
            await resp.read_all(1 << 20)
        resp.release()


async def test_a_body_within_the_cap_is_read_whole(client: http1.Client) -> None:
    async with RawServer(lambda _: fixed(b"y" * 5000)) as server:
        resp = await client.request("POST", server.url, {}, b"{}")
        assert await resp.read_all(5000) == b"y" * 5000
        resp.release()
