"""Which IP addresses a webhook may reach: the public internet only (pure logic).

:func:`refusal` names why an address is not a public one (``None``: it is). The tables follow
the IANA IPv4 and IPv6 Special-Purpose Address Registries, written out here rather than taken
from :mod:`ipaddress`'s ``is_global``, whose answers changed between Python patch releases
and which calls IPv4 multicast global.

IPv6 is refused outside global unicast (``2000::/3``) except the NAT64 well-known prefix, and
IPv4 hidden inside IPv6 is unwrapped wherever the network would deliver to it:

- ``64:ff9b::a.b.c.d`` (NAT64, RFC 6052) and ``2002:AABB:CCDD::/48`` (6to4, RFC 3056) are
  judged by the IPv4 address they carry: an IPv6-only host behind DNS64 reaches every
  IPv4-only receiver this way, and a private one this way too;
- ``::ffff:a.b.c.d`` (IPv4-mapped) and ``::a.b.c.d`` (IPv4-compatible, deprecated) are
  refused whatever they carry: write the IPv4 address itself;
- ``64:ff9b:1::/48`` (local-use NAT64, RFC 8215) and ``2001::/32`` (Teredo, whose client
  address is obfuscated) are refused, with the rest of ``2001::/23``.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4: Final = tuple(
    (ipaddress.IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified"),  # "this network"; 0.0.0.0 reaches this machine
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # a cloud's metadata service lives here
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # the retired 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # and 255.255.255.255, broadcast
    )
)

_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_SIX_TO_FOUR: Final = ipaddress.IPv6Network("2002::/16")

_V6: Final = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001::/23", "reserved"),  # IETF protocol assignments: benchmarking, ORCHID ...
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # segment routing identifiers
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # site-local (deprecated)
        ("ff00::/8", "multicast"),
    )
)


def parse(host: str) -> IPAddress | None:
    """The address ``host`` is written as (``[v6]`` brackets and ``%zone`` allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _v4_refusal(address: ipaddress.IPv4Address) -> str | None:
    return next((reason for network, reason in _V4 if address in network), None)


def embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 (well-known prefix) or 6to4 address delivers to, if any."""
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not reach ``address`` (``loopback``, ``private`` ...); None if public."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_refusal(address)
    address = ipaddress.IPv6Address(int(address))  # drop a %zone: it changes nothing here
    inner = embedded_v4(address)
    if inner is not None:
        why = _v4_refusal(inner)
        kind = "NAT64" if address in _NAT64 else "6to4"
        return f"{kind} of an IPv4 address that is {why}" if why else None
    found = next((reason for network, reason in _V6 if address in network), None)
    if found is not None:
        return found
    return None if address in _GLOBAL_UNICAST else "reserved"
