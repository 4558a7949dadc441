"""The egress policy: which provider hosts and addresses a gateway may connect to."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import egress

DEFAULT = egress.Policy.parse(None, None)


@pytest.mark.parametrize(
    ("host", "address", "why"),
    [
        ("metadata.test", "169.254.169.254", "link-local"),
        ("imds.test", "fd00:ec2::254", "metadata"),
        ("aliyun.test", "100.100.100.200", "metadata"),
        ("v6.test", "fe80::1", "link-local"),
        ("mapped.test", "::ffff:169.254.169.254", "link-local"),
        ("self.test", "127.0.0.1", "loopback"),
        ("self6.test", "::1", "loopback"),
        ("lan.test", "10.1.2.3", "private"),
        ("lan.test", "192.168.1.1", "private"),
        ("ula.test", "fd12::1", "private"),
        ("cgnat.test", "100.64.0.1", "private"),
        ("zero.test", "0.0.0.0", "unspecified"),
        ("nat64.test", "64:ff9b::a9fe:a9fe", "link-local"),  # 169.254.169.254 through NAT64
        ("6to4.test", "2002:a00:1::1", "private"),  # 10.0.0.1 through 6to4
    ],
)
def test_the_default_refuses_special_addresses(host: str, address: str, why: str) -> None:
    parsed = egress.address_of(address)
    assert parsed is not None
    refusal = DEFAULT.refusal(host, parsed)
    assert refusal is not None and why in refusal


def test_public_addresses_are_open_by_default() -> None:
    assert DEFAULT.refusal("api.openai.com", ipaddress.ip_address("104.18.7.192")) is None
    assert DEFAULT.refusal("api.example", ipaddress.ip_address("2606:4700::6810:1")) is None


def test_cluster_dns_names_may_reach_private_addresses_but_not_loopback_or_metadata() -> None:
    svc = "vllm.models.svc.cluster.local"
    assert DEFAULT.refusal(svc, ipaddress.ip_address("10.96.4.2")) is None
    assert DEFAULT.refusal("vllm.models.svc", ipaddress.ip_address("10.96.4.2")) is None
    assert DEFAULT.refusal(svc, ipaddress.ip_address("127.0.0.1")) is not None
    assert DEFAULT.refusal(svc, ipaddress.ip_address("169.254.169.254")) is not None
    assert DEFAULT.refusal("svc.evil.example", ipaddress.ip_address("10.96.4.2")) is not None


def test_an_allowed_network_opens_what_it_covers_and_deny_wins() -> None:
    policy = egress.Policy.parse("127.0.0.0/8,10.0.0.0/8", "10.9.0.0/16,*.internal.example")
    assert policy.refusal("x", ipaddress.ip_address("127.0.0.5")) is None
    assert policy.refusal("x", ipaddress.ip_address("10.1.0.1")) is None
    assert policy.refusal("x", ipaddress.ip_address("10.9.0.1")) == "denied by TOKENHUB_PROVIDER_DENY"
    assert policy.refusal("a.internal.example", ipaddress.ip_address("8.8.8.8")) == "denied by TOKENHUB_PROVIDER_DENY"
    assert policy.refusal("x", ipaddress.ip_address("169.254.169.254")) is not None  # not covered: still refused
    assert policy.refusal("vllm.svc", ipaddress.ip_address("10.96.0.1")) is None  # replaced default; CIDR covers it


def test_standalone_adds_loopback_to_the_default_only() -> None:
    assert egress.Policy.parse(None, None, standalone=True).refusal("x", ipaddress.ip_address("127.0.0.1")) is None
    explicit = egress.Policy.parse("*.svc", None, standalone=True)
    assert explicit.refusal("x", ipaddress.ip_address("127.0.0.1")) is not None


def test_host_refusal_judges_literals_denied_names_and_localhost_without_resolving() -> None:
    assert DEFAULT.host_refusal("169.254.169.254") is not None
    assert DEFAULT.host_refusal("[::1]") is not None
    assert DEFAULT.host_refusal("localhost") is not None
    assert DEFAULT.host_refusal("api.openai.com") is None  # a name is judged on its addresses at connect time
    assert egress.Policy.parse(None, "api.openai.com").host_refusal("API.OpenAI.com.") is not None


@pytest.mark.parametrize("entry", ["not a host!", "*.", "a..b", "http://x"])
def test_entries_that_are_neither_networks_nor_hosts_are_errors(entry: str) -> None:
    with pytest.raises(egress.PolicyError):
        egress.Rules.parse(entry)


@given(st.ip_addresses())
def test_link_local_and_metadata_are_never_open_under_any_host_pattern(address: ipaddress._BaseAddress) -> None:
    policy = egress.Policy.parse("*.svc,*.example", None)
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    if egress.kind(address) in ("link-local", "metadata", "loopback"):
        assert policy.refusal("api.svc", address) is not None
        assert policy.refusal("x.example", address) is not None


@given(st.ip_addresses(), st.sampled_from(["*.svc", "10.0.0.0/8", "public.example", ""]))
def test_a_denied_network_is_refused_whatever_is_allowed(address: ipaddress._BaseAddress, allow: str) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    policy = egress.Policy.parse(allow or None, "0.0.0.0/0,::/0")
    mapped = egress.address_of(str(address))
    assert mapped is not None
    assert policy.refusal("public.example", mapped) == "denied by TOKENHUB_PROVIDER_DENY"
