"""``file.sha256`` and ``file.md5``: known digests, canonical forms, malformed values refused."""

from __future__ import annotations

import hashlib

import pytest

from trustdesk.signals.contract import Content, Entries, Feature, InvalidValue, Kind
from trustdesk.signals.digests import MD5, SHA256, FileDigest
from trustdesk.signals.media.errors import MediaTooLarge
from trustdesk.signals.media.limits import MediaLimits

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABC_MD5 = "900150983cd24fb0d6963f7d28e17f72"


def test_digests_are_those_of_the_bytes_in_lowercase_hex() -> None:
    assert SHA256.extract(Content(Kind.FILE, data=b"abc"))[0].value == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert MD5.extract(Content(Kind.IMAGE, data=b"abc")) == (Feature("file.md5", ABC_MD5),)


def test_without_bytes_the_callers_hash_is_taken_and_only_its_own() -> None:
    sent = Content(Kind.VIDEO, hashes={"file.sha256": EMPTY_SHA256.upper(), "image.pdq": "0"})
    assert SHA256.extract(sent) == (Feature("file.sha256", EMPTY_SHA256),)
    assert MD5.extract(sent) == ()  # no bytes and no md5 sent: nothing to look up


@pytest.mark.parametrize(
    "value",
    ["", "e3b0", EMPTY_SHA256 + "0", "g" * 64, EMPTY_SHA256[:-1] + "\u0660", "x" * 10_000],
    ids=["empty", "short", "long", "not-hex", "arabic-digit", "huge"],
)
def test_a_malformed_hash_sent_is_refused(value: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        SHA256.extract(Content(Kind.FILE, hashes={"file.sha256": value}))
    assert refused.value.code == "invalid_hash"  # lookup.InvalidHash, an InvalidValue
    assert len(refused.value.message) < 200  # a huge value is not echoed whole


def test_an_upload_over_the_byte_cap_is_refused_before_it_is_looked_up() -> None:
    capped = FileDigest(SHA256.name, MediaLimits(max_bytes=10))
    assert (
        capped.extract(Content(Kind.FILE, data=b"x" * 10))[0].value
        == hashlib.sha256(b"x" * 10).hexdigest()
    )
    with pytest.raises(MediaTooLarge) as refused:
        capped.extract(Content(Kind.FILE, data=b"x" * 11))
    assert refused.value.code == "media_too_large"


def test_a_malformed_bank_entry_is_refused_when_indexed() -> None:
    with pytest.raises(InvalidValue):
        MD5.index(Entries.of("bank", [("ok", ABC_MD5), ("bad", "not a digest")]))


def test_one_value_in_several_banks_matches_each_entry() -> None:
    index = MD5.index(
        Entries(
            (*Entries.of("a", [("1", ABC_MD5)]).items, *Entries.of("b", [("2", ABC_MD5)]).items)
        )
    )
    found = index.search(MD5.extract(Content(Kind.FILE, data=b"abc")), 10)
    assert [(m.entry.bank, m.entry.id, m.entry.value, m.distance) for m in found if m.entry] == [
        ("a", "1", ABC_MD5, 0),
        ("b", "2", ABC_MD5, 0),
    ]
