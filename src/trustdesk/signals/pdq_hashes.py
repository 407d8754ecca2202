"""PDQ hashes as text and as packed words, their distance, and the brute-force reference search.

A PDQ hash is 256 bits. Its canonical text is 64 lowercase hexadecimal digits, in the byte order
python-threatexchange and pdqhash print (``binascii.hexlify`` of its 32 bytes). Packed, it is a
row of four native ``uint64`` words holding those 32 bytes in order, so the Hamming distance of two
hashes is the popcount of the XOR of their rows whatever the words' byte order.

:func:`brute_force` is the reference every faster search (:mod:`trustdesk.signals.pdq_index`) is
held to by tests: it compares the query with every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from trustdesk.errors import InvalidInput

BITS = 256
HEX_LENGTH = 64
MAX_FRAMES = 1024  # frames of one ``video.pdq`` value
_HEX = re.compile(r"[0-9a-fA-F]{64}")

Packed = npt.NDArray[np.uint64]  # shape (n, 4): one row per hash


class InvalidPdqHash(InvalidInput):
    """A PDQ hash's text is not 64 hexadecimal digits."""

    code = "invalid_pdq_hash"


class InvalidPdqThreshold(InvalidInput):
    """A distance threshold outside 0..256."""

    code = "invalid_pdq_threshold"


def canonical(text: str) -> str:
    """``text`` as canonical PDQ text (lowercase); refuses anything but 64 hex digits."""
    if not isinstance(text, str) or _HEX.fullmatch(text) is None:
        shown = repr(text[:80]) if isinstance(text, str) else type(text).__name__
        raise InvalidPdqHash(f"a PDQ hash is 64 hexadecimal digits, not {shown}", field="hash")
    return text.lower()


def frames(text: str, max_frames: int = MAX_FRAMES) -> list[str]:
    """The frame hashes of a ``video.pdq`` value: PDQ hashes in the video's order joined by
    ``,`` (the banks' canonical text; blanks and case forgiven), validated, consecutive
    duplicates folded; at most ``max_frames`` of them, else :class:`InvalidPdqHash`."""
    parts = text.strip().lower().split(",", max_frames)  # bounded: never more than needed
    if len(parts) > max_frames:
        raise InvalidPdqHash(f"more than {max_frames} frames", field="hash")
    folded: list[str] = []
    for n, part in enumerate(parts, 1):
        frame = part.strip()
        if _HEX.fullmatch(frame) is None:
            raise InvalidPdqHash(f"frame {n} is not 64 hex digits", field="hash")
        if not folded or folded[-1] != frame:
            folded.append(frame)
    return folded


def pack(text: str) -> bytes:
    """The 32 bytes of one PDQ hash's text (refused as :class:`InvalidPdqHash` if malformed)."""
    return bytes.fromhex(canonical(text))


def pack_many(texts: Iterable[str]) -> Packed:
    """Many hashes' texts as packed rows, shape (n, 4); the first malformed one is refused."""
    raw = b"".join(pack(text) for text in texts)
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4).copy()


def unpack(row: bytes | Packed) -> str:
    """Canonical text of one hash, from its 32 bytes or its packed row."""
    data = row if isinstance(row, bytes) else np.ascontiguousarray(row, dtype=np.uint64).tobytes()
    if len(data) != BITS // 8:
        raise InvalidPdqHash(f"a packed PDQ hash is 32 bytes, not {len(data)}", field="hash")
    return data.hex()


def distance(a: str, b: str) -> int:
    """Hamming distance of two hashes given as text."""
    return int.from_bytes(pack(a), "big").__xor__(int.from_bytes(pack(b), "big")).bit_count()


def check_threshold(threshold: int) -> int:
    """``threshold`` if it is a distance a search can use (0..256), else refused."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= BITS:
        raise InvalidPdqThreshold(
            f"a PDQ distance threshold is a whole number from 0 to {BITS}, not {threshold!r}",
            field="threshold",
        )
    return threshold


def distances(rows: Packed, query: bytes) -> npt.NDArray[np.int64]:
    """Hamming distance from ``query`` (32 bytes) to each row of ``rows``."""
    q = np.frombuffer(query, dtype=np.uint64)
    counts: npt.NDArray[np.int64] = np.bitwise_count(np.bitwise_xor(rows, q)).sum(
        axis=1, dtype=np.int64
    )
    return counts


def brute_force(
    rows: Packed, alive: npt.NDArray[np.uint8], query: bytes, threshold: int
) -> list[tuple[int, int]]:
    """Every live row within ``threshold`` of ``query``, as (row, distance), by row.

    The reference search: it reads every row. ``alive[i] == 0`` marks row i removed.
    """
    check_threshold(threshold)
    if len(query) != BITS // 8:
        raise InvalidPdqHash("a packed PDQ query is 32 bytes", field="hash")
    found = distances(rows, query)
    hits = np.flatnonzero((found <= threshold) & (alive[: len(rows)] != 0))
    return [(int(i), int(found[i])) for i in hits]
