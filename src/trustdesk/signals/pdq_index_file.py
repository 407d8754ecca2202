"""The PDQ index's file: a header, then the live rows' hashes and entry ids.

    offset  size        field
    0       8           magic b"TDPDQIX\\0"
    8       4           format version (little-endian uint32), 1
    12      4           flags, 0
    16      8           row count n (uint64)
    24      4           CRC-32 of everything after the header (uint32)
    28      4           reserved, 0
    32      32 * n      hashes: the 32 bytes of each (as its hex text spells them)
    32+32n  8 * n       entry ids (little-endian int64)

A file with another magic, version or flags, a size that does not match its count, or a payload
whose CRC differs is refused with :class:`PdqIndexFileError` (codes ``pdq_index_unreadable``,
``pdq_index_version``, ``pdq_index_corrupt``), never read half-way. Writing goes to a temporary
file in the same directory, flushed to disk, then renamed over the target, so a crash leaves the
old file or the new one. The tables are not stored: loading builds them (seconds at 10^7 rows).
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trustdesk.errors import InvalidInput
from trustdesk.signals.pdq_hashes import Packed

MAGIC = b"TDPDQIX\0"
VERSION = 1
HEADER = struct.Struct("<8sIIQII")
_CHUNK = 1 << 24


class PdqIndexFileError(InvalidInput):
    """A PDQ index file that cannot be read: not one, damaged, or from another version."""

    code = "pdq_index_corrupt"

    def __init__(self, message: str, *, code: str = "pdq_index_corrupt") -> None:
        super().__init__(message, field="path")
        self.code = code  # type: ignore[misc]


def _bytes(array: npt.NDArray[Any]) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return memoryview(array.data).cast("B")


def _crc(crc: int, data: memoryview) -> int:
    for start in range(0, len(data), _CHUNK):
        crc = zlib.crc32(data[start : start + _CHUNK], crc)
    return crc


def write_index(path: Path, hashes: Packed, ids: npt.NDArray[np.int64]) -> None:
    rows = np.ascontiguousarray(hashes, dtype=np.uint64)
    entry_ids = np.ascontiguousarray(ids, dtype="<i8")
    raw_rows = _bytes(rows)
    raw_ids = _bytes(entry_ids)
    crc = _crc(_crc(0, raw_rows), raw_ids)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(HEADER.pack(MAGIC, VERSION, 0, len(rows), crc, 0))
            out.write(raw_rows)
            out.write(raw_ids)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def read_index(path: Path, *, spare: float = 0.25) -> tuple[Packed, npt.NDArray[np.int64], int]:
    """The rows and entry ids in ``path``, checked whole before they are returned, and their count.

    The arrays have room for ``spare`` as many rows again (zeroed lazily: no memory until used),
    so the first additions after a load need no copy.
    """
    try:
        with path.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            header = source.read(HEADER.size)
            if len(header) < HEADER.size or header[:8] != MAGIC:
                raise PdqIndexFileError(
                    f"{path} is not a trustdesk PDQ index file", code="pdq_index_unreadable"
                )
            _, version, flags, count, crc, _ = HEADER.unpack(header)
            if version != VERSION or flags != 0:
                raise PdqIndexFileError(
                    f"{path} is a PDQ index file of version {version} (flags {flags}); "
                    f"this trustdesk reads version {VERSION}",
                    code="pdq_index_version",
                )
            if size != HEADER.size + 40 * count:
                raise PdqIndexFileError(
                    f"{path} is {size} bytes but its header promises {count} rows "
                    f"({HEADER.size + 40 * count} bytes): truncated or damaged"
                )
            capacity = count + int(count * spare) + 1024
            hashes = np.zeros((capacity, 4), dtype=np.uint64)
            ids = np.zeros(capacity, dtype="<i8")
            for array in (hashes[:count], ids[:count]):
                view = _bytes(array)
                if source.readinto(view) != len(view):
                    raise PdqIndexFileError(f"{path} ended early: truncated")
    except OSError as error:
        raise PdqIndexFileError(f"cannot read {path}: {error.strerror}") from error
    if _crc(_crc(0, _bytes(hashes[:count])), _bytes(ids[:count])) != crc:
        raise PdqIndexFileError(f"{path} fails its checksum: damaged")
    if sys.byteorder != "little":  # pragma: no cover - the ids are stored little-endian
        ids = ids.astype(np.int64)
    return hashes, ids.astype(np.int64, copy=False), count
