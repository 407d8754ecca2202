"""The PDQ hash of a picture, decoded safely, as HMA and python-threatexchange compute it.

:func:`hash_image` takes the upload's bytes and, in order:

1. refuses more than ``max_image_bytes`` (``media_too_large``), and what :func:`sniff`
   refuses (empty, archive, unknown or mislabelled bytes);
2. reads only the header with the Pillow plugin of the sniffed format (no probing of other
   formats) and refuses a declared width x height over ``max_image_pixels``
   (``decompression_bomb``) before any pixel is decoded (a WebP's and a GIF's size are
   read from their headers first: Pillow allocates a WebP's canvas on opening it, and
   checks a GIF frame against its own process-wide limit, with a warning);
3. decodes the picture at FULL size; only a JPEG declaring more than ``pdq_full_pixels``
   is decoded at a reduced DCT scale (``draft``: 1/2, 1/4 or 1/8, still at least a quarter
   of ``pdq_full_pixels``); a truncated or corrupt image is refused (``corrupt_media``);
4. honours the EXIF orientation (read by a small bounded parser, not Pillow's, which warns
   on hostile EXIF) and converts to RGB;
5. hashes the whole RGB array with PDQ: the *primary* hash, the one reported, stored and
   exported;
6. on request also scales it to the ``hash_side`` square (see :class:`MediaLimits`) and hashes
   that square's eight turned and mirrored copies: *query-only* hashes, so a turned or
   mirrored copy of a bank's picture matches (exact on the symmetric square).

Interoperability: the primary hash is ``pdqhash.compute(np.asarray(image.convert("RGB")))``,
what python-threatexchange's ``PdqSignal`` and HMA compute from the same file, bit for bit
(tests hold it to distance 0 on generated JPEGs and PNGs). We differ only where we choose to:
an EXIF-rotated photo is hashed upright (pytx hashes the stored pixels); a 16- or 32-bit grey
picture is scaled to 8 bits (Pillow's conversion, which pytx uses, clips it white); and a JPEG
over ``pdq_full_pixels`` (24 million by default: larger than any phone's default picture) is
hashed from its reduced DCT decode, a few bits from pytx's hash (see ``bench/signals_media.py``),
in exchange for a fraction of the decoding time and memory. Hashing the 576 square instead, as
this module first did, moved a median 4 and up to 14 bits from pytx's hash.

Nothing here changes Pillow's process-wide state (``MAX_IMAGE_PIXELS``,
``LOAD_TRUNCATED_IMAGES``): the caps are this package's own, checked before Pillow's.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

from trustdesk.signals.media.errors import (
    CorruptMedia,
    DecompressionBomb,
    MediaTooLarge,
    WrongMediaType,
)
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import IMAGE_PDQ, DihedralHash, Pixels, pdq, pdq_dihedral
from trustdesk.signals.media.sniff import sniff

_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
}
# What Pillow raises on malformed input, as opposed to our own bugs.
_DECODE_ERRORS = (SyntaxError, OSError, ValueError, EOFError, IndexError, TypeError, struct.error)
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112
_MAX_IFD_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class ImageHash:
    """A picture's PDQ hash and what was learnt decoding it.

    ``low_quality``: the quality is below the limit; the hash is kept and reported, but a
    caller must not match on it (a flat or featureless picture collides with many).
    ``pdq``: the primary hash, of the full picture (python-threatexchange's and HMA's).
    ``dihedral``: empty unless asked for; else the eight hashes of the ``hash_side`` square
    turned and mirrored, ``original`` first: query-only, never stored as the picture's hash.
    """

    pdq: str
    quality: int
    low_quality: bool
    format: str
    width: int
    height: int
    dihedral: tuple[DihedralHash, ...] = ()

    def signals(self) -> dict[str, str]:
        """The hash under its signal name."""
        return {IMAGE_PDQ: self.pdq}


def hash_image(
    data: bytes,
    limits: MediaLimits | None = None,
    *,
    declared: str | None = None,
    dihedral: bool = False,
) -> ImageHash:
    """The PDQ hash of the picture in ``data``; see the module's steps and refusals."""
    limits = limits or MediaLimits()
    if len(data) > limits.max_image_bytes:
        raise MediaTooLarge(f"the picture is larger than {limits.max_image_bytes} bytes")
    sniffed = sniff(data, declared or "image")
    if sniffed.kind != "image":
        raise WrongMediaType(f"expected a picture, the bytes are a {sniffed.kind}")
    if sniffed.format == "webp":
        _check_pixels(webp_size(data), limits)
    if sniffed.format == "gif":
        _check_pixels(gif_size(data), limits)
    pixels, (width, height) = decode(data, sniffed.format, limits)
    found, quality = pdq(pixels)
    hashes = pdq_dihedral(square(pixels, limits.hash_side))[0] if dihedral else ()
    return ImageHash(
        pdq=found,
        quality=quality,
        low_quality=quality < limits.min_quality,
        format=sniffed.format,
        width=width,
        height=height,
        dihedral=hashes,
    )


def decode(data: bytes, fmt: str, limits: MediaLimits) -> tuple[Pixels, tuple[int, int]]:
    """RGB pixels of the whole picture, upright; and the picture's upright size."""
    try:
        with _PLUGINS[fmt](io.BytesIO(data)) as image:
            _check_pixels(image.size, limits)
            size = image.size
            width, height = size
            if fmt == "jpeg" and width * height > limits.pdq_full_pixels:
                # DCT scaling keeping at least a quarter of the cap: bounded time and memory
                # for a huge photo, at the cost of a few bits against pytx's full decode.
                keep = math.sqrt(limits.pdq_full_pixels / 4 / (width * height))
                image.draft("RGB", (math.ceil(width * keep), math.ceil(height * keep)))
            image.load()
            return _to_pixels(image, size)
    except Image.DecompressionBombError as error:
        raise DecompressionBomb(str(error)) from None
    except _DECODE_ERRORS as error:
        raise CorruptMedia(f"the {fmt} picture cannot be decoded: {error}") from None


def _to_pixels(image: ImageFile.ImageFile, size: tuple[int, int]) -> tuple[Pixels, tuple[int, int]]:
    width, height = size
    orientation = exif_orientation(image.info.get("exif"))
    picture: Image.Image = image
    if picture.mode.startswith(("I", "F")):
        picture = _eight_bit(picture)
    if picture.mode == "P" and "transparency" in picture.info:
        picture = picture.convert("RGBA")
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        picture = picture.transpose(method)
        if orientation >= 5:
            width, height = height, width
    return np.asarray(picture, dtype=np.uint8), (width, height)


def square(pixels: Pixels, side: int) -> Pixels:
    """The picture scaled to the ``side`` square, where PDQ's dihedral hashes are exact."""
    picture = Image.fromarray(pixels)
    if picture.size != (side, side):
        picture = picture.resize((side, side), _resampling(picture.size, side))
    return np.asarray(picture, dtype=np.uint8)


def _eight_bit(picture: Image.Image) -> Image.Image:
    """Grey of 16 bits (PNG) or 32 (integer or float) as 8 bits; Pillow's own conversion
    clips at 255, which turns a 16-bit picture white."""
    grey = np.asarray(picture, dtype=np.float64)
    top = float(grey.max()) if grey.size else 0.0
    if picture.mode.startswith("I;16") or 255 < top <= 65535:
        grey = grey / 257
    elif top > 65535:
        grey = (grey - grey.min()) * (255 / max(top - float(grey.min()), 1e-9))
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _resampling(size: tuple[int, int], side: int) -> Image.Resampling:
    """BOX to shrink (fast, and what PDQ's own box filters do), BILINEAR to enlarge."""
    return Image.Resampling.BOX if min(size) >= side else Image.Resampling.BILINEAR


def _check_pixels(size: tuple[int, int] | None, limits: MediaLimits) -> None:
    if size is None:
        return
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"the picture declares an empty size {width} x {height}")
    if width * height > limits.max_image_pixels:
        raise DecompressionBomb(
            f"the picture declares {width} x {height} pixels, more than {limits.max_image_pixels}"
        )


def webp_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP declares in its first chunk, or ``None`` if unreadable."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    return None


def gif_size(data: bytes) -> tuple[int, int] | None:
    """The extent of a GIF's screen and first frame (Pillow checks the frame's size with
    its own process-wide limit, warning below twice that), or ``None`` if unreadable."""
    if len(data) < 13:
        return None
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while at < len(data):
        if data[at] == 0x2C and at + 9 <= len(data):  # the first image descriptor
            left, top, frame_width, frame_height = struct.unpack_from("<HHHH", data, at + 1)
            return max(width, left + frame_width), max(height, top + frame_height)
        if data[at] != 0x21 or at + 2 >= len(data):  # anything but an extension: stop
            return width, height
        at += 2  # extension introducer and label, then sub-blocks up to an empty one
        while at < len(data) and data[at] != 0:
            at += data[at] + 1
        at += 1
    return width, height


def exif_orientation(exif: object) -> int:
    """The EXIF Orientation (1-8) in IFD0 of raw EXIF bytes; 1 if absent or unreadable."""
    if not isinstance(exif, bytes):
        return 1
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get(exif[:2])
    if order is None or len(exif) < 8:
        return 1
    (ifd,) = struct.unpack_from(f"{order}I", exif, 4)
    if ifd + 2 > len(exif):
        return 1
    (count,) = struct.unpack_from(f"{order}H", exif, ifd)
    for index in range(min(count, _MAX_IFD_ENTRIES)):
        at = ifd + 2 + 12 * index
        if at + 12 > len(exif):
            break
        tag, kind = struct.unpack_from(f"{order}HH", exif, at)
        if tag == _ORIENTATION_TAG and kind == 3:
            (value,) = struct.unpack_from(f"{order}H", exif, at + 8)
            return value if 1 <= value <= 8 else 1
    return 1
