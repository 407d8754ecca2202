"""Plain lookups: exact hashes by equality, domains by host and parents, changed in place."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.signals.hosts import InvalidHost
from trustdesk.signals.lookup import (
    DomainIndex,
    DomainMatch,
    ExactHashes,
    InvalidHash,
    canonical_hash,
)

SHA = hashlib.sha256(b"generated upload one").hexdigest()
SHA_OTHER = hashlib.sha256(b"generated upload two").hexdigest()
MD5 = hashlib.md5(b"generated upload one", usedforsecurity=False).hexdigest()

# --- exact hashes --------------------------------------------------------------------------


def test_hashes_are_canonicalized() -> None:
    assert canonical_hash("file.sha256", f"  {SHA.upper()}\n") == SHA
    assert canonical_hash("file.md5", MD5.upper()) == MD5


@pytest.mark.parametrize(
    ("signal", "value", "says"),
    [
        ("file.sha256", MD5, "64 hex digits, not 32"),
        ("file.md5", SHA, "32 hex digits, not 64"),
        ("file.sha256", SHA[:-1] + "g", "'g' is not one"),
        ("file.md5", "", "not 0"),
        ("file.md5", "0x" + MD5[2:], "'x' is not one"),
        ("file.md5", MD5[:16] + " " + MD5[17:], "' ' is not one"),
        ("file.md5", "a" * 10_000_000, "not 10000000 characters"),
        ("image.pdq", SHA, "not an exact-hash signal"),
    ],
)
def test_a_bad_hash_is_refused_saying_why(signal: str, value: str, says: str) -> None:
    with pytest.raises(InvalidHash, match=says) as caught:
        canonical_hash(signal, value)
    assert caught.value.code == "invalid_hash"


def test_exact_hashes_match_in_any_case_and_say_which_entries() -> None:
    hashes: ExactHashes[int] = ExactHashes("file.sha256")
    assert hashes.add(SHA.upper(), 1) == SHA
    hashes.add(SHA, 2)
    hashes.add(SHA, 1)  # again: no change
    hashes.add(SHA_OTHER, 3)
    assert hashes.lookup(f" {SHA} ") == (1, 2)
    assert hashes.lookup(SHA_OTHER) == (3,)
    assert hashes.lookup(hashlib.sha256(b"not held").hexdigest()) == ()
    assert len(hashes) == 2
    assert dict(hashes) == {SHA: (1, 2), SHA_OTHER: (3,)}


def test_exact_hashes_are_removed_in_place() -> None:
    hashes: ExactHashes[str] = ExactHashes("file.md5")
    hashes.add(MD5, "bank-a/1")
    hashes.add(MD5, "bank-b/7")
    assert hashes.remove(MD5.upper(), "bank-a/1")
    assert not hashes.remove(MD5, "bank-a/1")  # already gone
    assert hashes.lookup(MD5) == ("bank-b/7",)
    assert hashes.remove(MD5, "bank-b/7")
    assert hashes.lookup(MD5) == ()
    assert len(hashes) == 0


def test_exact_hashes_refuse_bad_hashes_on_every_operation() -> None:
    hashes: ExactHashes[int] = ExactHashes("file.md5")
    for operation in (
        lambda: hashes.add(SHA, 1),
        lambda: hashes.lookup("zz"),
        lambda: hashes.remove("", 1),
    ):
        with pytest.raises(InvalidHash):
            operation()
    with pytest.raises(InvalidHash, match="not an exact-hash signal"):
        ExactHashes("video.pdq")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=16, max_size=16), st.integers(0, 5)), max_size=40))
def test_exact_hashes_agree_with_a_plain_dict(pairs: list[tuple[bytes, int]]) -> None:
    hashes: ExactHashes[int] = ExactHashes("file.md5")
    reference: dict[str, set[int]] = {}
    for number, (digest, entry) in enumerate(pairs):
        if number % 3 == 2:
            removed = hashes.remove(digest.hex(), entry)
            assert removed == (entry in reference.get(digest.hex(), set()))
            reference.get(digest.hex(), set()).discard(entry)
        else:
            hashes.add(digest.hex().upper(), entry)
            reference.setdefault(digest.hex(), set()).add(entry)
    for digest, _ in pairs:
        assert set(hashes.lookup(digest.hex())) == reference.get(digest.hex(), set())


# --- domains -------------------------------------------------------------------------------


def index(**entries: str) -> DomainIndex[str]:
    built: DomainIndex[str] = DomainIndex()
    for entry, domain in entries.items():
        built.add(domain, entry)
    return built


def matched(domains: DomainIndex[str], host: str) -> list[str]:
    return [entry for match in domains.lookup(host) for entry in match.entries]


def test_a_domain_entry_matches_its_host_and_every_subdomain() -> None:
    domains = index(casino="casino-bonus.example")
    for host in ("casino-bonus.example", "www.casino-bonus.example", "a.b.c.casino-bonus.example"):
        assert domains.lookup(host) == (DomainMatch("casino-bonus.example", ("casino",)),)
    for host in (
        "example",
        "notcasino-bonus.example",
        "casino-bonus.example.test",
        "bonus.example",
    ):
        assert domains.lookup(host) == ()


def test_a_host_entry_matches_that_host_and_below_only() -> None:
    domains = index(cdn="cdn.free-money.test")
    assert matched(domains, "cdn.free-money.test") == ["cdn"]
    assert matched(domains, "img.cdn.free-money.test") == ["cdn"]
    assert matched(domains, "free-money.test") == []
    assert matched(domains, "www.free-money.test") == []


def test_every_matching_entry_is_reported_most_specific_first() -> None:
    domains = index(host="cdn.free-money.test", domain="free-money.test", suffix="test")
    domains.add("free-money.test", "again")
    assert domains.lookup("a.cdn.free-money.test") == (
        DomainMatch("cdn.free-money.test", ("host",)),
        DomainMatch("free-money.test", ("domain", "again")),
        DomainMatch("test", ("suffix",)),
    )


def test_entries_and_hosts_are_canonicalized_alike() -> None:
    domains = index(
        idn="例子.中国", upper="Casino-Bonus.EXAMPLE.", wide="ｆｒｅｅ－ｍｏｎｅｙ．ｔｅｓｔ"
    )
    assert matched(domains, "www.xn--fsqu00a.xn--fiqs8s") == ["idn"]
    assert matched(domains, "WWW.例子.中国") == ["idn"]
    assert matched(domains, "casino-bonus.example") == ["upper"]
    assert matched(domains, "x.free-money.test.") == ["wide"]
    assert dict(domains) == {
        "xn--fsqu00a.xn--fiqs8s": ("idn",),
        "casino-bonus.example": ("upper",),
        "free-money.test": ("wide",),
    }


def test_ip_entries_match_exactly() -> None:
    domains = index(v4="192.0.2.7", v6="[2001:db8::1]")
    assert matched(domains, "192.0.2.7") == ["v4"]
    assert matched(domains, "0xC0.0.2.7") == ["v4"]
    assert matched(domains, "2001:DB8:0::1") == ["v6"]
    with pytest.raises(InvalidHost, match="not an IPv4 address"):
        domains.lookup("10.192.0.2.7")
    assert index(part="0.2.7").lookup("192.0.2.7") == ()  # '0.2.7' is 0.2.0.7, no parent


def test_domain_entries_are_added_and_removed_in_place() -> None:
    domains = index(one="casino-bonus.example")
    domains.add("CASINO-BONUS.example", "two")
    assert matched(domains, "www.casino-bonus.example") == ["one", "two"]
    assert domains.remove("casino-bonus.example", "one")
    assert not domains.remove("casino-bonus.example", "one")
    assert not domains.remove("free-money.test", "one")
    assert matched(domains, "www.casino-bonus.example") == ["two"]
    assert domains.remove("casino-bonus.example.", "two")
    assert domains.lookup("casino-bonus.example") == ()
    assert len(domains) == 0


@pytest.mark.parametrize(
    "bad",
    ["", ".", "a..b", "a" * 64 + ".test", "bad host.test", "xn--zz.test", "a." * 128 + "test"],
)
def test_a_bad_domain_is_refused_on_add_and_lookup(bad: str) -> None:
    domains = index(casino="casino-bonus.example")
    with pytest.raises(InvalidHost) as caught:
        domains.add(bad, "x")
    assert caught.value.code == "invalid_host"
    with pytest.raises(InvalidHost):
        domains.lookup(bad)


def test_a_lookup_probes_one_parent_per_label_and_never_scans() -> None:
    """A deep host against many entries: the lookup asks the dict about the host and each
    parent only (counted by a dict that records its probes), whatever the entry count."""

    class Probes(dict[str, tuple[str, ...]]):
        asked: list[str]

        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            self.asked.append(key)
            return super().get(key, default)

    domains = index(
        **{f"e{number}": f"site{number}.casino-bonus.example" for number in range(2000)}
    )
    probes = Probes(dict(domains))
    probes.asked = []
    domains._entries = probes  # the same entries, in a dict that counts its probes
    host = "a." * 100 + "site7.casino-bonus.example"
    assert matched(domains, host) == ["e7"]
    assert len(probes.asked) == host.count(".") + 1
