"""What an upload is, from its first bytes; never from its name or its declared type.

:func:`sniff` names the format (``jpeg``, ``png``, ``gif``, ``webp``, ``bmp``; ``mp4`` for
ISO media and QuickTime, ``matroska`` for WebM and Matroska, ``avi``) and refuses:

- nothing at all: ``empty_media``;
- an archive (zip, gzip, 7z, rar, bzip2, xz, tar), and a picture or video with a zip
  appended (a polyglot): ``zip_wrapped_media``;
- a known format this package does not decode (TIFF, HEIF/AVIF, PDF ...) or bytes that are
  no known format: ``unsupported_media``;
- bytes that disagree with what the caller declared (``image``, ``video``, or a MIME type
  such as ``image/png``): ``wrong_media_type``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from trustdesk.signals.media.errors import (
    EmptyMedia,
    UnsupportedMedia,
    WrongMediaType,
    ZipWrappedMedia,
)

MediaKind = Literal["image", "video"]

IMAGE_FORMATS = ("jpeg", "png", "gif", "webp", "bmp")
VIDEO_FORMATS = ("mp4", "matroska", "avi")

MIME_TYPES: dict[str, str] = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/x-ms-bmp": "bmp",
    "video/mp4": "mp4",
    "video/quicktime": "mp4",
    "video/x-m4v": "mp4",
    "video/3gpp": "mp4",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
    "video/avi": "avi",
}

_ARCHIVES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
_ZIP_END = b"PK\x05\x06"
_ZIP_END_SIZE = 22
_ZIP_COMMENT_MAX = 65_535


@dataclass(frozen=True, slots=True)
class Sniffed:
    """The format read from the bytes, and whether it is a picture or a video."""

    kind: MediaKind
    format: str


def _archive(data: bytes) -> str | None:
    for magic, name in _ARCHIVES:
        if data.startswith(magic):
            return name
    if len(data) >= 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def has_zip_tail(data: bytes) -> bool:
    """Whether a zip archive's end record, with a central directory it points at, ends ``data``.

    A zip is read from its end, so a picture with a zip appended is both: such a polyglot is
    refused. The end record alone could occur by chance in compressed pixels, so the central
    directory it names must also be where it says (a chance match is then about 2^-64).
    """
    floor = max(0, len(data) - _ZIP_END_SIZE - _ZIP_COMMENT_MAX)
    at = data.rfind(_ZIP_END, floor)
    while at >= 0:
        record = data[at : at + _ZIP_END_SIZE]
        if len(record) == _ZIP_END_SIZE:
            size, offset, comment = struct.unpack_from("<IIH", record, 12)
            ends_here = at + _ZIP_END_SIZE + comment == len(data)
            directory = at - size
            if (
                ends_here
                and 0 <= directory < at
                and data[directory : directory + 4] == b"PK\x01\x02"
            ):
                return True
            if ends_here and size == 0 and offset <= at:
                return True
        at = data.rfind(_ZIP_END, floor, at)
    return False


_SIGNATURES: tuple[tuple[int, bytes, int, bytes, Sniffed], ...] = (
    # (offset, magic, second offset, second magic, format)
    (0, b"\xff\xd8\xff", 0, b"", Sniffed("image", "jpeg")),
    (0, b"\x89PNG\r\n\x1a\n", 0, b"", Sniffed("image", "png")),
    (0, b"GIF87a", 0, b"", Sniffed("image", "gif")),
    (0, b"GIF89a", 0, b"", Sniffed("image", "gif")),
    (0, b"RIFF", 8, b"WEBP", Sniffed("image", "webp")),
    (0, b"RIFF", 8, b"AVI ", Sniffed("video", "avi")),
    (0, b"BM", 6, b"\x00\x00\x00\x00", Sniffed("image", "bmp")),  # reserved, always 0
    (4, b"ftyp", 0, b"", Sniffed("video", "mp4")),  # ISO media and QuickTime
    (0, b"\x1a\x45\xdf\xa3", 0, b"", Sniffed("video", "matroska")),  # EBML: WebM, MKV
)


def _format(data: bytes) -> Sniffed | None:
    head = data[:32]
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return None
    for at, magic, second_at, second, found in _SIGNATURES:
        if head[at : at + len(magic)] != magic:
            continue
        if head[second_at : second_at + len(second)] == second:
            return found
    return None


def _unsupported_name(data: bytes) -> str | None:
    head = data[:32]
    for magic, name in _UNSUPPORTED:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "HEIF/AVIF"
    return None


def sniff(data: bytes, declared: str | None = None) -> Sniffed:
    """The upload's format from its magic bytes, checked against ``declared`` if given.

    ``declared`` is a content kind (``image``, ``video``) or a MIME type (``image/png``);
    ``None`` or ``file`` accepts any supported picture or video.
    """
    if not data:
        raise EmptyMedia("the upload is empty")
    archive = _archive(data)
    if archive is not None:
        raise ZipWrappedMedia(f"the upload is a {archive} archive, not a picture or video")
    found = _format(data)
    if found is None:
        name = _unsupported_name(data)
        if name is not None:
            raise UnsupportedMedia(f"{name} is not a supported picture or video format")
        raise UnsupportedMedia("the upload is no known picture or video format")
    if has_zip_tail(data):
        raise ZipWrappedMedia(f"the {found.format} upload carries a zip archive at its end")
    _check_declared(found, declared)
    return found


def _check_declared(found: Sniffed, declared: str | None) -> None:
    if declared is None or declared == "file":
        return
    wanted = declared.strip().lower()
    if "/" in wanted:
        expected = MIME_TYPES.get(wanted.split(";", 1)[0].strip())
        if expected is None:
            raise UnsupportedMedia(f"{declared!r} is not a supported media type")
        if expected != found.format:
            raise WrongMediaType(f"declared {declared!r}, but the bytes are {found.format}")
        return
    if wanted not in ("image", "video"):
        raise UnsupportedMedia(f"{declared!r} is not a media kind (image, video or file)")
    if wanted != found.kind:
        raise WrongMediaType(
            f"declared {wanted}, but the bytes are a {found.kind} ({found.format})"
        )
