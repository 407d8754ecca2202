"""File hashes: canonical hex of SHA-256 and MD5, streamed under a byte cap."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from trustdesk.signals.media.errors import EmptyMedia, MediaTooLarge
from trustdesk.signals.media.files import MD5, SHA256, hash_bytes, hash_chunks, read_capped


def test_known_vectors_in_canonical_lowercase_hex() -> None:
    found = hash_bytes(b"abc", max_bytes=10)
    assert found.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert found.md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert found.signals() == {SHA256: found.sha256, MD5: found.md5}
    assert found.size == 3


def test_chunks_hash_like_the_whole() -> None:
    data = bytes(range(256)) * 5000
    chunks = [data[at : at + 4099] for at in range(0, len(data), 4099)]
    streamed = hash_chunks(chunks, max_bytes=len(data))
    assert streamed == hash_bytes(data, max_bytes=len(data))
    assert streamed.sha256 == hashlib.sha256(data).hexdigest()


def test_an_endless_upload_is_refused_one_chunk_past_the_cap() -> None:
    taken = 0

    def endless() -> Iterator[bytes]:
        nonlocal taken
        while True:
            taken += 1
            yield b"x" * 1000

    with pytest.raises(MediaTooLarge) as refused:
        hash_chunks(endless(), max_bytes=10_000)
    assert refused.value.code == "media_too_large"
    assert taken == 11


def test_oversized_and_empty_uploads_are_refused() -> None:
    with pytest.raises(MediaTooLarge):
        hash_bytes(b"x" * 11, max_bytes=10)
    with pytest.raises(EmptyMedia):
        hash_bytes(b"", max_bytes=10)
    with pytest.raises(EmptyMedia):
        hash_chunks(iter([b"", b""]), max_bytes=10)


def test_read_capped_reads_at_most_one_byte_past_the_cap() -> None:
    stream = io.BytesIO(b"y" * 100)
    assert read_capped(io.BytesIO(b"y" * 10), max_bytes=10) == b"y" * 10
    with pytest.raises(MediaTooLarge):
        read_capped(stream, max_bytes=50)
    assert stream.tell() == 51
