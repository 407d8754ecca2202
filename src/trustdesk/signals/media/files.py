"""File hashes of any upload: SHA-256 and MD5, read once, in chunks, under a byte cap.

The hex is canonical: lowercase, 64 characters for ``file.sha256`` and 32 for ``file.md5``
(the forms python-threatexchange and HMA's bank files use).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from trustdesk.signals.media.errors import EmptyMedia, MediaTooLarge

SHA256 = "file.sha256"
MD5 = "file.md5"
CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileHashes:
    """The exact hashes of one upload, and its size in bytes."""

    sha256: str
    md5: str
    size: int

    def signals(self) -> dict[str, str]:
        """The hashes under their signal names."""
        return {SHA256: self.sha256, MD5: self.md5}


def hash_chunks(chunks: Iterable[bytes], *, max_bytes: int) -> FileHashes:
    """Hash an upload given as chunks; refuse it once it passes ``max_bytes``.

    Stops reading at the first chunk past the cap, so an endless stream costs at most one
    chunk more than the cap.
    """
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)  # a bank key, not a security check
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(f"the upload is larger than {max_bytes} bytes")
        sha256.update(chunk)
        md5.update(chunk)
    if size == 0:
        raise EmptyMedia("the upload is empty")
    return FileHashes(sha256=sha256.hexdigest(), md5=md5.hexdigest(), size=size)


def hash_bytes(data: bytes, *, max_bytes: int) -> FileHashes:
    """Hash an upload held in memory."""
    if len(data) > max_bytes:
        raise MediaTooLarge(f"the upload is larger than {max_bytes} bytes")
    if not data:
        raise EmptyMedia("the upload is empty")
    return FileHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),  # a bank key only
        size=len(data),
    )


def read_capped(stream: BinaryIO, *, max_bytes: int) -> bytes:
    """Read a whole stream into memory, refusing it once it passes ``max_bytes``.

    Reads at most ``max_bytes + 1`` bytes, whatever the stream holds.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(f"the upload is larger than {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)
