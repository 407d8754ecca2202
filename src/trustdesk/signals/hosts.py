"""Host names as ``url.domain`` compares them: canonical form, and registrable domain.

A canonical host is lowercase ASCII without a trailing dot: each non-ASCII label goes
through IDNA's UTS #46 mapping (non-transitional, so ``ß`` stays ``ß``) to its punycode
A-label (``例子.中国`` -> ``xn--fsqu00a.xn--fiqs8s``); an ``xn--`` label must decode. ASCII
labels are letters, digits, ``-`` and ``_``, 1-63 characters, a hyphen anywhere (browsers
open ``-x_.casino-bonus.example``, so refusing it would let a link pass unmatched, though
registries and IDNA 2008 refuse such names); a host has at most 253 characters
and 127 labels. IP addresses stay hosts, matched exactly: IPv4 in dotted decimal, read as
browsers read it (WHATWG: ``0x7f.1`` and ``2130706433`` are ``127.0.0.1``, so a written-out
number does not hide an address), IPv6 compressed without brackets.

The registrable domain ("eTLD+1") comes from the Public Suffix List that the
``publicsuffixlist`` package ships inside its wheel; it is never fetched at run time (the
package's updater is a separate command this project never runs). Private suffixes count
(``x.github.io`` is its own registrable domain, as browsers treat it): a site on a hosting
suffix belongs to whoever made it, not to the host. An unknown top-level label is taken as
a suffix of one label (``casino-bonus.example`` is registrable), as browsers do.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote

import idna
from publicsuffixlist import PublicSuffixList

from trustdesk.errors import InvalidInput

MAX_HOST = 253  # characters of a canonical host (DNS)
MAX_LABEL = 63  # characters of one label (DNS)
MAX_LABELS = 127  # labels of a host: 253 characters hold no more
# Top-level names RFC 2606 and RFC 6761 reserve for documentation and tests: a written
# ``casino-bonus.example`` is found like ``casino-bonus.com``, so examples and tests work.
SPECIAL_USE_TLDS = frozenset({"example", "test"})

_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class InvalidHost(InvalidInput):
    """A host or domain that is not one (empty, bad label, too long, bad punycode)."""

    code = "invalid_host"
    title = "Invalid host"


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    """The shipped list, unknown TLDs taken as suffixes (loaded once, about 50 ms)."""
    return PublicSuffixList()


@lru_cache(maxsize=1)
def _psl_known() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


@lru_cache(maxsize=4096)  # few distinct labels; spam repeats them
def is_known_tld(label: str) -> bool:
    """Whether ``label`` (any case; Unicode or punycode) is a top-level name of the Public
    Suffix List, or one of :data:`SPECIAL_USE_TLDS`."""
    if not label or "." in label or len(label) > MAX_LABEL:
        return False
    label = label.lower()
    return label in SPECIAL_USE_TLDS or _psl_known().is_public(label)


@lru_cache(maxsize=16384)  # a wave of spam repeats its hosts
def registrable_domain(host: str) -> str | None:
    """The registrable domain of a canonical host; the address itself for an IP; None when
    the host is itself a public suffix (``co.uk``, ``github.io``)."""
    if is_ip(host):
        return host
    found: str | None = _psl().privatesuffix(host)
    return found


def is_ip(host: str) -> bool:
    """Whether a canonical host is an IP address."""
    if ":" not in host and not host[-1:].isdigit():
        return False  # a name: its last label is never all digits
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ipv4_number(part: str) -> int | None:
    if not _IPV4_PART.fullmatch(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:], 16) if len(part) > 2 else 0
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if set(part) <= set("01234567") else None
    return int(part)


def _ipv4(host: str) -> str | None:
    """``host`` as a dotted-decimal IPv4 address if it is one the WHATWG way, else None."""
    parts = host.split(".")
    if len(parts) > 4 or any(len(part) > 12 for part in parts):  # bounded int() work
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    total = values[-1]
    for index, value in enumerate(values[:-1]):
        total += value << (8 * (3 - index))
    return str(ipaddress.IPv4Address(total))


def _looks_numeric(label: str) -> bool:
    """WHATWG's "ends in a number": the last label is digits, or ``0x`` and hex digits."""
    return bool(_IPV4_PART.fullmatch(label))


def canonical_ipv6(text: str) -> str:
    """A bracketless IPv6 literal in compressed form; zone ids refused."""
    try:
        if "%" in text:  # a zone id names an interface of the reader's own machine
            raise ValueError(text)
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        msg = f"{text[:80]!r} is not an IPv6 address"
        raise InvalidHost(msg) from None


def _label(label: str) -> str:
    if label.isascii():
        label = label.lower()
        if not _ASCII_LABEL.fullmatch(label):
            msg = f"{label[:80]!r} is not a host label (letters, digits, '-', '_'; 1-63)"
            raise InvalidHost(msg)
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                msg = f"{label!r} is not a valid punycode label"
                raise InvalidHost(msg) from None
        return label
    if len(label) > MAX_LABEL:
        msg = f"a label of {len(label)} characters (at most {MAX_LABEL})"
        raise InvalidHost(msg)
    try:
        encoded = idna.encode(label, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        msg = f"{label!r} is not a valid internationalized label"
        raise InvalidHost(msg) from None
    if "." in encoded or not encoded:  # UTS 46 maps some characters to dots
        msg = f"{label!r} is not one label"
        raise InvalidHost(msg)
    return encoded


def canonical_host(host: str) -> str:
    """The canonical form of ``host`` (a name or an IP address, maybe percent-encoded,
    maybe with one trailing dot), or :class:`InvalidHost`. Bounded: a host longer than
    four times :data:`MAX_HOST` is refused before any work."""
    if len(host) > 4 * MAX_HOST:
        msg = f"a host of {len(host)} characters (at most {MAX_HOST})"
        raise InvalidHost(msg)
    if "%" in host:
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError:
            msg = "a percent-encoded host that is not UTF-8"
            raise InvalidHost(msg) from None
    if host.startswith("[") and host.endswith("]"):
        return canonical_ipv6(host[1:-1])
    if ":" in host:  # an IPv6 address as Link.host holds it, without brackets
        return canonical_ipv6(host)
    if not host.isascii():  # full-width forms, ideographic dots, case: UTS 46 maps them
        try:
            host = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except (idna.IDNAError, UnicodeError):
            msg = f"{host[:80]!r} holds characters no host may"
            raise InvalidHost(msg) from None
    host = host.removesuffix(".")
    if not host:
        msg = "an empty host"
        raise InvalidHost(msg)
    labels = host.split(".")
    if len(labels) > MAX_LABELS:
        msg = f"a host of {len(labels)} labels (at most {MAX_LABELS})"
        raise InvalidHost(msg)
    if _looks_numeric(labels[-1]):
        address = _ipv4(host)
        if address is None:
            msg = f"{host[:80]!r} ends in a number but is not an IPv4 address"
            raise InvalidHost(msg)
        return address
    result = ".".join(_label(label) for label in labels)
    if len(result) > MAX_HOST:
        msg = f"a host of {len(result)} characters (at most {MAX_HOST})"
        raise InvalidHost(msg)
    return result
