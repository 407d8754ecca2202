"""Sniffing: the format comes from the bytes; archives, unknown and mislabelled bytes refused."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from bench.media_samples import encode, scene
from trustdesk.signals.media.errors import (
    EmptyMedia,
    UnsupportedMedia,
    WrongMediaType,
    ZipWrappedMedia,
)
from trustdesk.signals.media.sniff import has_zip_tail, sniff

PICTURE = scene(3, 64)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp")],
)
def test_pictures_are_named_by_their_bytes(fmt: str, expected: str) -> None:
    found = sniff(encode(PICTURE, fmt))
    assert (found.kind, found.format) == ("image", expected)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "matroska"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "avi"),
    ],
)
def test_videos_are_named_by_their_bytes(head: bytes, expected: str) -> None:
    found = sniff(head + b"\x00" * 64)
    assert (found.kind, found.format) == ("video", expected)


def test_a_declared_type_that_disagrees_with_the_bytes_is_refused() -> None:
    png = encode(PICTURE, "PNG")
    assert sniff(png, "image/png").format == "png"
    assert sniff(png, "image").format == "png"
    with pytest.raises(WrongMediaType) as refused:
        sniff(png, "image/jpeg")
    assert refused.value.code == "wrong_media_type"
    with pytest.raises(WrongMediaType):
        sniff(png, "video")
    with pytest.raises(UnsupportedMedia):
        sniff(png, "application/x-unknown")


@pytest.mark.parametrize(
    "data",
    [
        b"II*\x00" + b"\x00" * 60,  # TIFF
        b"%PDF-1.7\n" + b"\x00" * 60,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIF: a picture in ISO media
        np.random.default_rng(7).bytes(4096),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
    ids=["tiff", "pdf", "heic", "random", "svg"],
)
def test_unknown_or_unsupported_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as refused:
        sniff(data)
    assert refused.value.code == "unsupported_media"


def test_empty_is_refused() -> None:
    with pytest.raises(EmptyMedia) as refused:
        sniff(b"")
    assert refused.value.code == "empty_media"


def test_a_zipped_picture_is_refused_as_an_archive() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("picture.jpg", encode(PICTURE, "JPEG"))
    with pytest.raises(ZipWrappedMedia) as refused:
        sniff(out.getvalue(), "image")
    assert refused.value.code == "zip_wrapped_media"


@pytest.mark.parametrize(
    "head", [b"\x1f\x8b\x08\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07\x00", b"BZh91AY"]
)
def test_other_archives_are_refused(head: bytes) -> None:
    with pytest.raises(ZipWrappedMedia):
        sniff(head + b"\x00" * 600)


def test_a_picture_with_a_zip_appended_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "hidden")
    polyglot = encode(PICTURE, "JPEG") + out.getvalue()
    with pytest.raises(ZipWrappedMedia):
        sniff(polyglot)


def test_a_stray_zip_end_signature_inside_pixels_is_no_zip() -> None:
    jpeg = encode(PICTURE, "JPEG")
    stray = jpeg[:-2] + b"PK\x05\x06" + b"\x00" * 30 + jpeg[-2:]
    assert not has_zip_tail(stray)
    assert sniff(stray).format == "jpeg"
