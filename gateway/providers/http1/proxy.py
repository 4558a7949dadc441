"""Forward proxies from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``: which requests take one, and the CONNECT
handshake; pure.

NO_PROXY follows the common reading (Go's ``httpproxy``, curl): entries separated by commas; ``*`` bypasses every
host; ``example.com`` matches that host and every name below it; ``.example.com`` (or ``*.example.com``) only the
names below it; an IP address or CIDR matches a literal address in the URL; ``host:port`` matches that port only.
Only ``http://`` proxies are supported (TLS to the upstream runs inside the CONNECT tunnel). The proxy's
credentials never appear in a ``repr`` or an error message.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import urllib.parse

MAX_REPLY_BYTES = 16 << 10  # a CONNECT reply head larger than this is refused


class ProxyUrlError(ValueError):
    """A proxy URL that cannot be used; the message never repeats the URL (it may hold a password)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: bytes | None = dataclasses.field(default=None, repr=False)  # the Proxy-Authorization value

    @classmethod
    def parse(cls, url: str) -> Proxy:
        text = url.strip()
        if "://" not in text:
            text = "http://" + text  # "proxy:3128" as curl and Go read it
        try:
            parts = urllib.parse.urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ProxyUrlError("is not a valid URL (bad port or brackets)") from exc
        if parts.scheme != "http":
            raise ProxyUrlError(f"must be an http:// proxy URL, not {parts.scheme}://")
        if not parts.hostname:
            raise ProxyUrlError("must name a host")
        auth = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            auth = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        return cls(parts.hostname, port or 80, auth)


@dataclasses.dataclass(frozen=True, slots=True)
class NoProxyEntry:
    host: str = ""  # lower-case name ("" for a network entry)
    subdomains_only: bool = False
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None
    everything: bool = False

    @classmethod
    def parse(cls, raw: str) -> NoProxyEntry | None:
        entry = raw.strip().lower()
        if not entry:
            return None
        if entry == "*":
            return cls(everything=True)
        try:
            return cls(network=ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            pass
        port = None
        head, sep, tail = entry.rpartition(":")
        if sep and tail.isdigit() and "]" not in tail:
            entry, port = head, int(tail)
            try:
                return cls(network=ipaddress.ip_network(entry.strip("[]")), port=port)
            except ValueError:
                pass
        if entry.startswith("*."):
            return cls(entry[2:].rstrip("."), subdomains_only=True, port=port)
        if entry.startswith("."):
            return cls(entry[1:].rstrip("."), subdomains_only=True, port=port)
        return cls(entry.rstrip("."), port=port)

    def matches(self, host: str, port: int) -> bool:
        if self.everything:
            return True
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                address = ipaddress.ip_address(host.strip("[]"))
            except ValueError:
                return False
            return address.version == self.network.version and address in self.network
        name = host.lower().rstrip(".")
        if name.endswith("." + self.host):
            return True
        return not self.subdomains_only and name == self.host


@dataclasses.dataclass(frozen=True, slots=True)
class ProxyRules:
    """Which proxy, if any, a request to an origin goes through."""

    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[NoProxyEntry, ...] = ()

    @classmethod
    def parse(cls, http: str | None, https: str | None, no_proxy: str | None) -> ProxyRules:
        entries = (NoProxyEntry.parse(raw) for raw in (no_proxy or "").replace(" ", ",").split(","))
        return cls(
            Proxy.parse(http) if http else None,
            Proxy.parse(https) if https else None,
            tuple(entry for entry in entries if entry is not None),
        )

    def for_origin(self, scheme: str, host: str, port: int) -> Proxy | None:
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or any(entry.matches(host, port) for entry in self.no_proxy):
            return None
        return proxy


def authority(host: str, port: int) -> bytes:
    return (f"[{host}]:{port}" if ":" in host else f"{host}:{port}").encode("idna")


def connect_request(host: str, port: int, proxy: Proxy) -> bytes:
    target = authority(host, port)
    lines = [b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)]
    if proxy.authorization is not None:
        lines.append(b"Proxy-Authorization: %s\r\n" % proxy.authorization)
    lines.append(b"\r\n")
    return b"".join(lines)


def reply_status(received: bytes) -> tuple[int, int] | None:
    """(status, length of the head) once the CONNECT reply's head has arrived, else None; ValueError if not HTTP."""
    end = received.find(b"\r\n\r\n")
    if end < 0:
        if len(received) > MAX_REPLY_BYTES:
            raise ValueError(f"the proxy's reply head is longer than {MAX_REPLY_BYTES} bytes")
        return None
    status_line = received[: received.find(b"\r\n")]
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise ValueError("the proxy's reply is not HTTP/1.x")
    return int(parts[1]), end + 4
