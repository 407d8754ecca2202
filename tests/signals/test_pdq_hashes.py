"""PDQ hash text: canonical hex in, 32 bytes out, and nothing else accepted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.signals.pdq_hashes import (
    InvalidPdqHash,
    brute_force,
    canonical,
    distance,
    pack,
    pack_many,
    unpack,
)


@given(raw=st.binary(min_size=32, max_size=32))
def test_text_and_bytes_round_trip(raw: bytes) -> None:
    text = raw.hex()
    assert pack(text) == raw
    assert pack(text.upper()) == raw
    assert unpack(raw) == text
    assert unpack(pack_many([text])[0]) == text


@given(a=st.binary(min_size=32, max_size=32), b=st.binary(min_size=32, max_size=32))
def test_distance_is_the_popcount_of_the_xor(a: bytes, b: bytes) -> None:
    expected = sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))
    assert distance(a.hex(), b.hex()) == expected
    rows = pack_many([a.hex()])
    assert brute_force(rows, np.ones(1, np.uint8), b, 256) == [(0, expected)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0" * 63,
        "0" * 65,
        "g" + "0" * 63,
        " " + "0" * 63,
        "0" * 64 + "\n",
        "0" * 32 + " " + "0" * 31,
        "０" * 64,  # full-width digits are not hex here
        "0x" + "0" * 62,
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidPdqHash) as refused:
        pack(text)
    assert refused.value.code == "invalid_pdq_hash"
    assert refused.value.field == "hash"


def test_non_text_is_refused_and_canonical_is_lowercase() -> None:
    with pytest.raises(InvalidPdqHash):
        canonical(b"0" * 64)  # type: ignore[arg-type]
    with pytest.raises(InvalidPdqHash):
        pack_many(["f" * 64, "nope"])
    with pytest.raises(InvalidPdqHash):
        unpack(b"\0" * 31)
    assert canonical("AB" * 32) == "ab" * 32
