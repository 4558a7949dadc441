"""A raw HTTP/1.1 client for the inbound-limit tests: it sends exactly the bytes a test says, when it says.

The SDKs and httpx send a whole request before they read; a slow or partial sender needs the socket itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import urllib.parse
from typing import Any

import httpx
import orjson
from prometheus_client import parser

from tests.plugins.gateway import Gateway


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def head(path: str, headers: dict[str, str], method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: gateway", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def connect(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urllib.parse.urlsplit(gateway.url)
    assert url.hostname is not None and url.port is not None
    return await asyncio.open_connection(url.hostname, url.port)


async def read_reply(reader: asyncio.StreamReader, timeout_s: float = 10.0) -> Reply:
    async with asyncio.timeout(timeout_s):
        raw = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(int(status_line.split(" ")[1]), headers, body)


async def closed_by_server(reader: asyncio.StreamReader, timeout_s: float = 10.0) -> bool:
    """Whether the server closes the connection (EOF or reset) within ``timeout_s``, reading what is left."""
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        await writer.wait_closed()


async def metric(gateway: Gateway, name: str, **labels: str) -> float:
    """One sample of the gateway's ``/metrics`` (0 when the labelled child does not exist yet)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
