"""Which hosts and addresses the gateway may open a provider connection to: the egress policy; pure.

A Provider URL is written by a tenant, so it must not reach the cloud's metadata service, the gateway itself or
the cluster's private services unless the platform widened the policy (``TOKENHUB_PROVIDER_ALLOW`` / ``_DENY``).
The same decision runs twice: on the URL's literal host when a config compiles (a clear refusal early), and on
every address a name resolves to, just before connecting (so a name that later resolves elsewhere - DNS
rebinding - is refused too). Order: a deny entry wins; an allowed network opens any address it covers; a host
pattern opens private (not loopback, link-local or metadata) addresses for the names it matches; public addresses
are open. Docs: docs/egress.md.
"""

from __future__ import annotations

import dataclasses
import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_ALLOW = "*.svc,*.svc.cluster.local"
LOOPBACK_ALLOW = "127.0.0.0/8,::1/128"  # added by default in standalone mode (local model servers on a laptop)
# Cloud metadata services outside the link-local range (AWS IPv6, Alibaba); 169.254.0.0/16 and fe80::/10 are
# link-local and refused as such.
METADATA = (
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)
_LOCALHOST = ipaddress.ip_address("127.0.0.1")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Python's is_private leaves it out


class PolicyError(ValueError):
    """An allow or deny list holds an entry that is neither a network, an address nor a host pattern."""


def _host_pattern(entry: str) -> str:
    pattern = entry.lower().rstrip(".")
    body = pattern[2:] if pattern.startswith("*.") else pattern.lstrip(".")
    labels = body.split(".")
    if not body or any(not label or not all(c.isalnum() or c in "-_" for c in label) for label in labels):
        raise PolicyError(f"{entry!r} is neither a CIDR, an IP address nor a host pattern like api.example.com")
    return pattern


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    """One list of the policy: networks (CIDRs and single addresses) and host patterns."""

    networks: tuple[Network, ...] = ()
    hosts: tuple[str, ...] = ()  # "api.example.com" exactly; "*.svc" or ".svc" any name below it

    @classmethod
    def parse(cls, text: str) -> Rules:
        networks: list[Network] = []
        hosts: list[str] = []
        for raw in text.replace(" ", ",").split(","):
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.append(_host_pattern(entry))
        return cls(tuple(networks), tuple(hosts))

    def __add__(self, other: Rules) -> Rules:
        return Rules(self.networks + other.networks, self.hosts + other.hosts)

    def covers(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)

    def names(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.hosts:
            if pattern.startswith(("*.", ".")):
                if host.endswith("." + pattern.lstrip("*.")):
                    return True
            elif host == pattern:
                return True
        return False


def address_of(host: str) -> Address | None:
    """The host as an address when it is one (IPv4-mapped IPv6 as its IPv4 address), else None."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 or 6to4 address reaches (judged as that address), if it is one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def kind(address: Address) -> str:
    """``public``, or why the address is special: ``metadata``, ``link-local``, ``loopback``, ``private``, ..."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return kind(embedded)
    if any(address in net for net in METADATA if net.version == address.version):
        return "metadata"
    if address.is_link_local:
        return "link-local"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_private or (address.version == 4 and address in _SHARED) or address.is_reserved:
        return "private"
    return "public"


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    allow: Rules = dataclasses.field(default_factory=lambda: Rules.parse(DEFAULT_ALLOW))
    deny: Rules = Rules()

    @classmethod
    def parse(cls, allow: str | None, deny: str | None, *, standalone: bool = False) -> Policy:
        """From the settings' text; an unset allow list is the default (with loopback in standalone mode)."""
        if allow is None:
            allow = DEFAULT_ALLOW + ("," + LOOPBACK_ALLOW if standalone else "")
        return cls(Rules.parse(allow), Rules.parse(deny or ""))

    def refusal(self, host: str, address: Address) -> str | None:
        """Why a connection to ``address`` (which ``host`` resolved to) is refused, or None when it is allowed."""
        if self.deny.names(host) or self.deny.covers(address):
            return "denied by TOKENHUB_PROVIDER_DENY"
        if self.allow.covers(address):
            return None
        what = kind(address)
        if what == "public" or (what == "private" and self.allow.names(host)):
            return None
        return f"a {what} address, not allowed by TOKENHUB_PROVIDER_ALLOW"

    def host_refusal(self, host: str) -> str | None:
        """What can be judged from a URL's host before resolving it: a literal address, a denied name, localhost."""
        address = address_of(host)
        if address is not None:
            return self.refusal(host, address)
        if self.deny.names(host):
            return "denied by TOKENHUB_PROVIDER_DENY"
        lowered = host.lower().rstrip(".")
        if lowered == "localhost" or lowered.endswith(".localhost"):
            return self.refusal(host, _LOCALHOST)
        return None


OPEN = Policy(allow=Rules.parse("0.0.0.0/0,::/0"))  # for tools and tests that talk to loopback on purpose
