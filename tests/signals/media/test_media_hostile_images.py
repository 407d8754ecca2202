"""Hostile pictures get a clear refusal, before any pixel is decoded where it matters."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from bench.media_samples import encode, scene
from trustdesk.errors import InvalidInput
from trustdesk.signals.media.errors import (
    CorruptMedia,
    DecompressionBomb,
    EmptyMedia,
    MediaRefused,
    MediaTooLarge,
    UnsupportedMedia,
    WrongMediaType,
    ZipWrappedMedia,
)
from trustdesk.signals.media.images import gif_size, hash_image, webp_size
from trustdesk.signals.media.limits import MediaLimits

PICTURE = scene(4, 256)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int, idat: bytes) -> bytes:
    """A hand-built PNG: IHDR with these dimensions (8-bit RGB), one IDAT, IEND."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_small_png_declaring_50000_by_50000_is_refused_before_decoding() -> None:
    # The IDAT is not even valid zlib: had any pixel been decoded, this would be corrupt_media.
    bomb = png_declaring(50_000, 50_000, b"\x00garbage")
    assert len(bomb) < 100
    with pytest.raises(DecompressionBomb) as refused:
        hash_image(bomb)
    assert refused.value.code == "decompression_bomb"
    assert "50000 x 50000" in refused.value.message


def test_the_pixel_cap_is_ours_not_pillows() -> None:
    # 8000 x 8000 is under Pillow's own limit (89 million) and over the default cap (40).
    with pytest.raises(DecompressionBomb):
        hash_image(png_declaring(8000, 8000, zlib.compress(b"\x00" * 10)))
    with pytest.raises(DecompressionBomb):
        hash_image(encode(PICTURE), MediaLimits(max_image_pixels=256 * 255))
    assert hash_image(encode(PICTURE), MediaLimits(max_image_pixels=256 * 256)).quality > 50


def test_a_jpeg_declaring_60000_by_60000_is_refused() -> None:
    jpeg = bytearray(encode(PICTURE, "JPEG"))
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(DecompressionBomb):
        hash_image(bytes(jpeg))


def test_a_webp_declaring_16383_by_16383_is_refused_from_its_header() -> None:
    webp = bytearray(encode(PICTURE, "WEBP", lossless=True))
    assert webp[12:16] == b"VP8L"
    bits = int.from_bytes(webp[21:25], "little")
    bits = (bits & ~0x0FFFFFFF) | 16382 | (16382 << 14)
    webp[21:25] = bits.to_bytes(4, "little")
    assert webp_size(bytes(webp)) == (16383, 16383)
    with pytest.raises(DecompressionBomb):
        hash_image(bytes(webp))


def test_a_gif_declaring_a_65535_square_screen_is_refused() -> None:
    gif = bytearray(encode(PICTURE, "GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)
    with pytest.raises(DecompressionBomb):
        hash_image(bytes(gif))


def test_a_gif_frame_declaring_10000_by_10000_is_refused_before_pillow_warns() -> None:
    # 100 million pixels: between Pillow's warning (89 million) and its error (twice that).
    gif = bytearray(encode(Image.new("P", (10, 10)), "GIF"))
    descriptor = gif.index(b"\x2c", 13)
    gif[descriptor + 5 : descriptor + 9] = struct.pack("<HH", 10_000, 10_000)
    assert gif_size(bytes(gif)) == (10_000, 10_000)
    with pytest.raises(DecompressionBomb):
        hash_image(bytes(gif))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP"])
def test_truncated_pictures_are_refused_as_corrupt(fmt: str) -> None:
    data = encode(scene(8, 300), fmt)
    with pytest.raises(CorruptMedia) as refused:
        hash_image(data[: len(data) // 2])
    assert refused.value.code == "corrupt_media"


def test_a_png_with_a_broken_pixel_stream_is_refused_as_corrupt() -> None:
    with pytest.raises(CorruptMedia):
        hash_image(png_declaring(64, 64, b"\x78\x9c" + b"\xff" * 40))


def test_right_magic_then_garbage_is_refused_as_corrupt() -> None:
    with pytest.raises(CorruptMedia):
        hash_image(b"\xff\xd8\xff\xe0" + np.random.default_rng(3).bytes(2000))


def test_wrong_magic_bytes_are_refused() -> None:
    with pytest.raises(WrongMediaType):
        hash_image(encode(PICTURE, "PNG"), declared="image/jpeg")
    with pytest.raises(WrongMediaType):
        hash_image(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 100)  # a video, not a picture
    with pytest.raises(UnsupportedMedia):
        hash_image(b"II*\x00" + b"\x00" * 100)


def test_empty_random_zipped_and_oversized_inputs_are_refused() -> None:
    with pytest.raises(EmptyMedia):
        hash_image(b"")
    with pytest.raises(UnsupportedMedia):
        hash_image(np.random.default_rng(11).bytes(10_000))
    with pytest.raises(ZipWrappedMedia):
        hash_image(b"PK\x03\x04" + encode(PICTURE))
    data = encode(PICTURE)
    with pytest.raises(MediaTooLarge) as refused:
        hash_image(data, MediaLimits(max_image_bytes=len(data) - 1))
    assert refused.value.code == "media_too_large"


def test_refusals_are_invalid_input_with_a_field() -> None:
    with pytest.raises(MediaRefused) as refused:
        hash_image(b"")
    assert refused.value.field == "content"
    assert isinstance(refused.value, InvalidInput)


@pytest.mark.parametrize("seed", range(40))
def test_mangled_pictures_are_hashed_or_refused_never_anything_else(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fmt = ["JPEG", "PNG", "GIF", "WEBP", "BMP"][seed % 5]
    data = bytearray(encode(scene(seed, 96), fmt))
    for _ in range(int(rng.integers(1, 12))):
        data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
    try:
        found = hash_image(bytes(data))
    except MediaRefused as refused:
        assert refused.code in {"corrupt_media", "decompression_bomb", "unsupported_media"}
    else:
        assert len(found.pdq) == 64
