"""Picture PDQ: near copies match, turned and mirrored ones match through the dihedral hashes,
different pictures do not, flat pictures are reported as weak, EXIF orientation is honoured."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from bench.media_samples import brighter, encode, scene
from trustdesk.signals.media.images import exif_orientation, hash_image
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import IMAGE_PDQ, distance, to_hex

MATCH = 31
ORIGINAL = scene(1, 768)
HASH = hash_image(encode(ORIGINAL), dihedral=True)


def nearest(data: bytes) -> tuple[int, int]:
    """Distance of the copy's plain hash, and the least over its eight dihedral hashes."""
    copy = hash_image(data, dihedral=True)
    return distance(HASH.pdq, copy.pdq), min(distance(HASH.pdq, d.pdq) for d in copy.dihedral)


def test_the_hash_is_canonical_hex_with_quality() -> None:
    assert len(HASH.pdq) == 64
    assert HASH.pdq == HASH.pdq.lower()
    int(HASH.pdq, 16)
    assert HASH.quality >= 90
    assert not HASH.low_quality
    assert HASH.signals() == {IMAGE_PDQ: HASH.pdq}
    assert [d.transform for d in HASH.dihedral][:2] == ["original", "rotate90"]
    assert distance(HASH.dihedral[0].pdq, HASH.pdq) <= 16  # the square's, query-only
    assert (HASH.width, HASH.height, HASH.format) == (768, 768, "png")


@pytest.mark.parametrize(
    "copy",
    [
        encode(ORIGINAL.resize((300, 300))),
        encode(ORIGINAL.resize((1100, 1100))),
        encode(ORIGINAL, "JPEG", quality=50),
        encode(brighter(ORIGINAL, 1.15)),
        encode(ORIGINAL.convert("L")),
        encode(ORIGINAL, "WEBP", quality=60),
        encode(ORIGINAL, "GIF"),
    ],
    ids=["smaller", "larger", "jpeg-q50", "brighter-15", "grey", "webp", "gif"],
)
def test_near_copies_are_within_the_match_distance(copy: bytes) -> None:
    plain, _ = nearest(copy)
    assert plain <= MATCH


@pytest.mark.parametrize(
    "turned",
    [
        ImageOps.mirror(ORIGINAL),
        ImageOps.flip(ORIGINAL),
        ORIGINAL.transpose(Image.Transpose.ROTATE_90),
        ORIGINAL.transpose(Image.Transpose.ROTATE_180),
        ORIGINAL.transpose(Image.Transpose.ROTATE_270),
    ],
    ids=["mirrored", "flipped", "rotate90", "rotate180", "rotate270"],
)
def test_turned_and_mirrored_copies_match_only_through_the_dihedral_hashes(
    turned: Image.Image,
) -> None:
    plain, dihedral = nearest(encode(turned, "JPEG", quality=85))
    assert plain > MATCH * 2
    assert dihedral <= MATCH


def test_a_16_bit_grey_png_hashes_like_its_8_bit_grey() -> None:
    grey = np.asarray(ORIGINAL.convert("L")).astype(np.uint16) * 257
    found = hash_image(encode(Image.fromarray(grey)))
    assert found.quality >= 90
    assert distance(found.pdq, HASH.pdq) <= 8


def test_different_pictures_are_far_apart() -> None:
    hashes = [hash_image(encode(scene(seed, 384))).pdq for seed in range(10, 18)]
    closest = min(distance(a, b) for a, b in itertools.combinations(hashes, 2))
    assert closest > 80


def test_a_flat_picture_is_reported_as_low_quality_and_keeps_its_hash() -> None:
    flat = Image.new("RGB", (256, 256), (120, 130, 140))
    found = hash_image(encode(flat))
    assert found.low_quality
    assert found.quality < 50
    assert len(found.pdq) == 64
    assert not hash_image(encode(flat), MediaLimits(min_quality=0)).low_quality


def test_an_exif_rotated_jpeg_hashes_like_the_upright_picture() -> None:
    upright = scene(5, 640).resize((640, 400))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera held sideways writes
    exif = Image.Exif()
    exif[0x0112] = 6  # show it turned 90 degrees clockwise
    tagged = encode(stored, "JPEG", quality=90, exif=exif)
    untagged = encode(stored, "JPEG", quality=90)
    reference = hash_image(encode(upright, "JPEG", quality=90)).pdq
    found = hash_image(tagged)
    assert distance(found.pdq, reference) <= 10
    assert (found.width, found.height) == (640, 400)
    assert distance(hash_image(untagged).pdq, reference) > MATCH * 2


@pytest.mark.parametrize(
    "exif",
    [
        b"",
        b"Exif\x00\x00",
        b"Exif\x00\x00MM\x00*\xff\xff\xff\xff",  # IFD offset past the end
        b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 20,  # 65535 entries claimed, 2 there
        b"XX*\x00\x08\x00\x00\x00",
    ],
)
def test_hostile_exif_reads_as_upright(exif: bytes) -> None:
    assert exif_orientation(exif) == 1


def test_a_jpeg_over_the_full_decode_cap_is_decoded_at_reduced_scale_and_hashes_alike() -> None:
    big = scene(6, 2048)
    jpeg = encode(big, "JPEG", quality=90)
    reduced = hash_image(jpeg, MediaLimits(pdq_full_pixels=1_000_000))
    full = hash_image(jpeg)
    assert full.pdq == pytx_pdq(jpeg)
    assert (reduced.width, reduced.height) == (2048, 2048)
    assert distance(reduced.pdq, full.pdq) <= 16


def pytx_pdq(data: bytes) -> str:
    """The hash python-threatexchange's PdqSignal and HMA compute for a file's bytes."""
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return to_hex(pdqhash.compute(pixels)[0])


@pytest.mark.parametrize(
    ("fmt", "size", "options"),
    [
        ("JPEG", (1024, 768), {"quality": 85}),
        ("JPEG", (333, 517), {"quality": 50}),
        ("PNG", (1024, 1024), {}),
        ("PNG", (640, 401), {}),
        ("WEBP", (800, 600), {"quality": 80}),
    ],
    ids=["jpeg-1024", "jpeg-odd", "png-1024", "png-odd", "webp"],
)
def test_the_primary_hash_is_pytx_and_hma_s_bit_for_bit(
    fmt: str, size: tuple[int, int], options: dict[str, int]
) -> None:
    for seed in (2, 3):
        data = encode(scene(seed, 768).resize(size), fmt, **options)
        assert hash_image(data).pdq == pytx_pdq(data)
        assert hash_image(data, dihedral=True).pdq == pytx_pdq(data)
