"""``url.domain`` as a signal: hosts with their spans, domain and host entries, IPs."""

from __future__ import annotations

import pytest

from trustdesk.signals.contract import Content, Entries, Kind
from trustdesk.signals.domains import URL_DOMAINS
from trustdesk.signals.hosts import InvalidHost
from trustdesk.signals.links import MAX_LINKS

TEXT = "go to https://a.cdn.casino.example/x, then casino.example or shop.casino.example"
SOURCE = Entries.of("bank", [("domain", "casino.example"), ("host", "CDN.casino.example")])


def found(text: str) -> list[tuple[str, str]]:
    index = URL_DOMAINS.index(SOURCE)
    return [
        (text[m.span.start : m.span.end], m.entry.id)
        for m in index.search(URL_DOMAINS.extract(Content(Kind.TEXT, text=text)), 100)
        if m.span and m.entry
    ]


def test_features_are_canonical_hosts_with_their_spans() -> None:
    features = URL_DOMAINS.extract(Content(Kind.TEXT, text=TEXT))
    assert [(f.value, TEXT[f.span.start : f.span.end]) for f in features if f.span] == [
        ("a.cdn.casino.example", "https://a.cdn.casino.example/x"),
        ("casino.example", "casino.example"),
        ("shop.casino.example", "shop.casino.example"),
    ]


def test_a_host_entry_matches_under_it_and_a_domain_entry_everything_in_it() -> None:
    assert found(TEXT) == [
        ("https://a.cdn.casino.example/x", "host"),
        ("https://a.cdn.casino.example/x", "domain"),
        ("casino.example", "domain"),
        ("shop.casino.example", "domain"),
    ]


def test_matches_carry_the_canonical_entry() -> None:
    index = URL_DOMAINS.index(SOURCE)
    features = URL_DOMAINS.extract(Content(Kind.TEXT, text="cdn.casino.example"))
    assert {m.entry.value for m in index.search(features, 10) if m.entry} == {
        "cdn.casino.example",
        "casino.example",
    }


def test_an_ip_entry_matches_only_that_address() -> None:
    index = URL_DOMAINS.index(Entries.of("ips", [("ip", "10.0.0.1")]))
    text = "http://10.0.0.1/a and http://110.0.0.1/b"
    matches = index.search(URL_DOMAINS.extract(Content(Kind.TEXT, text=text)), 10)
    assert [text[m.span.start : m.span.end] for m in matches if m.span] == ["http://10.0.0.1/a"]


def test_links_are_bounded_and_a_malformed_entry_is_refused() -> None:
    many = " ".join(f"site{n}.example" for n in range(MAX_LINKS + 50))
    assert len(URL_DOMAINS.extract(Content(Kind.TEXT, text=many))) == MAX_LINKS
    with pytest.raises(InvalidHost):
        URL_DOMAINS.index(Entries.of("bank", [("bad", "not a host!")]))
    assert URL_DOMAINS.extract(Content(Kind.TEXT, text="no links here")) == ()
