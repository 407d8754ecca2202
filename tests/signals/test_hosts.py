"""Canonical hosts and registrable domains: one spelling per host, IPs as browsers read them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.signals.hosts import (
    InvalidHost,
    canonical_host,
    is_ip,
    is_known_tld,
    registrable_domain,
)
from trustdesk.signals.links import find_links


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Casino-Bonus.EXAMPLE.", "casino-bonus.example"),
        ("例子.中国", "xn--fsqu00a.xn--fiqs8s"),
        ("例子。中国", "xn--fsqu00a.xn--fiqs8s"),  # UTS 46 maps the ideographic full stop
        ("ｆｒｅｅ－ｍｏｎｅｙ．ｔｅｓｔ", "free-money.test"),
        ("XN--FSQU00A.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("_dmarc.free-money.test", "_dmarc.free-money.test"),
        ("casino%2dbonus.example", "casino-bonus.example"),
        ("192.0.2.7", "192.0.2.7"),
        ("0300.0250.2.7", "192.168.2.7"),  # octal, as browsers read it
        ("0xc0a80207", "192.168.2.7"),
        ("[2001:DB8:0:0::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("test", "test"),  # one label: a suffix entry may be one
    ],
)
def test_canonical_hosts(written: str, canonical: str) -> None:
    assert canonical_host(written) == canonical
    assert canonical_host(canonical) == canonical


@pytest.mark.parametrize(
    "bad",
    [
        "",
        ".",
        "a..test",
        "a b.test",
        "a/b.test",
        "a" * 64 + ".test",
        ".".join(["a" * 60] * 5),
        "a." * 127 + "test",
        "x" * 2000,
        "xn--zz.test",
        "i❤.test",
        "256.1.1.1",
        "1.2.3.4.5",
        "0x.0x.0x.0x.0x",
        "09.1.1.1",  # not octal, not decimal
        "[::1%eth0]",
        "[1::2::3]",
        "%ff.test",
    ],
)
def test_what_is_no_host(bad: str) -> None:
    with pytest.raises(InvalidHost) as caught:
        canonical_host(bad)
    assert caught.value.code == "invalid_host"


def test_known_top_level_names() -> None:
    assert all(
        is_known_tld(name) for name in ("com", "CN", "中国", "xn--fiqs8s", "example", "test")
    )
    assert not any(is_known_tld(name) for name in ("txt", "zz", "", "co.uk", "a" * 70))


def test_registrable_domains() -> None:
    assert registrable_domain("a.b.casino-bonus.co.uk") == "casino-bonus.co.uk"
    assert registrable_domain("x.casino-bonus.github.io") == "casino-bonus.github.io"
    assert registrable_domain("free-money.test") == "free-money.test"  # unknown: one label
    assert registrable_domain("github.io") is None
    assert registrable_domain("192.0.2.7") == "192.0.2.7"
    assert registrable_domain("2001:db8::1") == "2001:db8::1"
    assert is_ip("2001:db8::1")
    assert not is_ip("free-money.test")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_a_canonical_host_is_its_own_canonical_form(text: str) -> None:
    try:
        host = canonical_host(text)
    except InvalidHost:
        return
    assert host.isascii()
    assert host == host.lower()
    assert canonical_host(host) == host


def test_every_host_a_link_reports_is_canonical() -> None:
    text = "http://[2001:DB8::1]/ http://0xC0.0.2.7 ｗｗｗ．例子．中国 casino-bonus[.]example"
    links = find_links(text).links
    assert len(links) == 4
    assert all(canonical_host(link.host) == link.host for link in links)
