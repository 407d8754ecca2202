"""The address classifier webhooks go through: a table of every kind of address, and
properties that hold for all of them (IPv4 inside IPv6 judged as the IPv4 it reaches)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.cases.addresses import parse, refusal
from trustdesk.cases.webhooks import InvalidWebhookUrl, validate_url

V4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
V6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


def nat64(v4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v4))


def six_to_four(v4: ipaddress.IPv4Address, rest: int = 1) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | rest)


REFUSED = {
    "0.0.0.0": "unspecified",  # noqa: S104 - an address to refuse, not to bind
    "0.1.2.3": "unspecified",
    "10.0.0.5": "private",
    "100.64.0.1": "shared (carrier-grade NAT)",
    "100.127.255.254": "shared (carrier-grade NAT)",
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "169.254.169.254": "link-local",
    "172.16.4.2": "private",
    "172.31.255.255": "private",
    "192.0.0.9": "reserved",
    "192.0.2.10": "documentation",
    "192.88.99.1": "reserved",
    "192.168.1.1": "private",
    "198.18.0.1": "benchmarking",
    "198.51.100.7": "documentation",
    "203.0.113.200": "documentation",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "::": "unspecified",
    "::1": "loopback",
    "::127.0.0.1": "IPv4-compatible (deprecated)",
    "::8.8.8.8": "IPv4-compatible (deprecated)",
    "::ffff:127.0.0.1": "IPv4-mapped",
    "::ffff:10.0.0.1": "IPv4-mapped",
    "::ffff:8.8.8.8": "IPv4-mapped",
    "::ffff:0:a00:1": "reserved",  # IPv4-translated (SIIT)
    "64:ff9b::127.0.0.1": "NAT64 of an IPv4 address that is loopback",
    "64:ff9b::10.1.2.3": "NAT64 of an IPv4 address that is private",
    "64:ff9b::169.254.169.254": "NAT64 of an IPv4 address that is link-local",
    "64:ff9b:1::8.8.8.8": "local-use NAT64",
    "64:ff9b:1:ffff::1": "local-use NAT64",
    "100::1": "discard-only",
    "2001::1": "Teredo",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
    "2001:2::1": "reserved",
    "2001:10::1": "reserved",
    "2001:db8::1": "documentation",
    "2002:7f00:1::1": "6to4 of an IPv4 address that is loopback",
    "2002:a00:1::1": "6to4 of an IPv4 address that is private",
    "2002:a9fe:a9fe::": "6to4 of an IPv4 address that is link-local",
    "2002:6440:1::1": "6to4 of an IPv4 address that is shared (carrier-grade NAT)",
    "3fff::1": "documentation",
    "5f00::1": "reserved",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fec0::1": "private",
    "ff02::1": "multicast",
    "ff0e::1": "multicast",
    "4000::1": "reserved",
    "e000::1": "reserved",
}

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below carrier-grade NAT
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "223.255.255.255",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "64:ff9b::8.8.8.8",  # NAT64 of a public address: how an IPv6-only host reaches it
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("text", "reason"), REFUSED.items())
def test_every_kind_of_inner_address_is_refused_and_named(text: str, reason: str) -> None:
    address = parse(text)
    assert address is not None
    assert refusal(address) == reason


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_pass(text: str) -> None:
    address = parse(text)
    assert address is not None
    assert refusal(address) is None


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a00:1]",
        "[64:ff9b:1::808:808]",
        "[2002:7f00:1::1]",
        "[2002:c0a8:101::1]",
        "[2001::1]",
        "[::ffff:8.8.8.8]",
        "192.0.0.9",
        "192.88.99.1",
        "[5f00::1]",
    ],
)
def test_numbered_urls_hiding_an_inner_address_are_refused_in_production(host: str) -> None:
    """IPv4 wrapped in IPv6 (and the ranges the standard library misjudges) no longer pass."""
    with pytest.raises(InvalidWebhookUrl, match="private, link-local"):
        validate_url(f"https://{host}/hook", allow_loopback=False)


@given(V4)
def test_what_passes_in_ipv4_is_global_unicast_by_the_standard_library_too(
    v4: ipaddress.IPv4Address,
) -> None:
    if refusal(v4) is None:
        assert v4.is_global and not v4.is_multicast and not v4.is_reserved


@given(V6)
def test_what_passes_in_ipv6_is_global_unicast_or_a_public_ipv4_behind_nat64(
    v6: ipaddress.IPv6Address,
) -> None:
    if refusal(v6) is None:
        assert v6 in ipaddress.IPv6Network("2000::/3") or v6 in ipaddress.IPv6Network(
            "64:ff9b::/96"
        )
        assert not v6.is_multicast and not v6.is_link_local and not v6.is_loopback
        assert not v6.is_private or v6.sixtofour is not None  # 6to4: judged by its IPv4


@given(V4)
def test_nat64_and_6to4_are_judged_by_the_ipv4_they_reach(v4: ipaddress.IPv4Address) -> None:
    allowed = refusal(v4) is None
    assert (refusal(nat64(v4)) is None) == allowed
    assert (refusal(six_to_four(v4)) is None) == allowed


@given(V4)
def test_mapped_compatible_local_nat64_and_teredo_are_always_refused(
    v4: ipaddress.IPv4Address,
) -> None:
    n = int(v4)
    for wrapped in (
        ipaddress.IPv6Address(0xFFFF_0000_0000 | n),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address(n),  # ::a.b.c.d
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b:1::")) | n),
        ipaddress.IPv6Address((0x2001_0000 << 96) | (n << 64) | (n ^ 0xFFFF_FFFF)),  # Teredo
    ):
        assert refusal(wrapped) is not None, wrapped


@given(V6)
def test_a_zone_changes_nothing(v6: ipaddress.IPv6Address) -> None:
    zoned = parse(f"{v6}%eth0")
    assert zoned is not None
    assert refusal(zoned) == refusal(v6)
