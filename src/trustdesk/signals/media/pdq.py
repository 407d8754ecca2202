"""PDQ hashes of RGB pixels, as the canonical hex, and the distance between two of them.

The hex is the 256 bits as PDQ's reference implementation prints them (and as
python-threatexchange and HMA store them): 64 lowercase hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pdqhash

IMAGE_PDQ = "image.pdq"
VIDEO_PDQ = "video.pdq"
PDQ_HEX_LENGTH = 64
# pdqhash.compute_dihedral's order: the picture, turned, then mirrored.
DIHEDRAL = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)

Pixels = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class DihedralHash:
    """The PDQ hash of the picture turned or mirrored as ``transform`` names."""

    transform: str
    pdq: str


def to_hex(bits: npt.NDArray[Any]) -> str:
    """256 bits, most significant first (pdqhash's order), as 64 lowercase hex digits."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def distance(a: str, b: str) -> int:
    """The Hamming distance between two PDQ hashes given as hex (0 to 256)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def pdq(pixels: Pixels) -> tuple[str, int]:
    """PDQ hash (hex) and quality (0-100) of an RGB array of shape (rows, columns, 3)."""
    bits, quality = pdqhash.compute(pixels)
    return to_hex(bits), int(quality)


def pdq_dihedral(pixels: Pixels) -> tuple[tuple[DihedralHash, ...], int]:
    """The eight dihedral PDQ hashes (``DIHEDRAL`` order) and the quality, in one pass."""
    hashes, quality = pdqhash.compute_dihedral(pixels)
    found = tuple(
        DihedralHash(transform=name, pdq=to_hex(bits))
        for name, bits in zip(DIHEDRAL, hashes, strict=True)
    )
    return found, int(quality)
