"""Synthetic pictures and videos for the media tests and bench: structure, never downloads."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

Array = npt.NDArray[np.uint8]


def scene(seed: int, size: int = 512) -> Image.Image:
    """A picture with structure: a gradient, shapes and rows of text-like marks."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    angle = rng.uniform(0, np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    base = np.stack(
        [
            120 + 100 * np.sin(2 * np.pi * (ramp + rng.uniform())),
            120 + 100 * np.cos(3 * np.pi * (x * rng.uniform(0.5, 1.5) + y)),
            60 + 150 * ramp / max(float(ramp.max()), 1e-9),
        ],
        axis=-1,
    )
    picture = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(6, 12))):
        x0, y0 = rng.integers(0, size - size // 6, 2)
        w, h = rng.integers(size // 12, size // 3, 2)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (int(x0), int(y0), int(min(size - 1, x0 + w)), int(min(size - 1, y0 + h)))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    marks(draw, rng, (0, int(size * 0.1), size, int(size * 0.3)))
    return picture


def marks(draw: ImageDraw.ImageDraw, rng: np.random.Generator, box: tuple[int, ...]) -> None:
    """Rows of small dark blocks, like lines of text, inside ``box``."""
    left, top, right, bottom = box
    line = max(6, (bottom - top) // 6)
    for row in range(top + 2, bottom - line, line + line // 2):
        x = left + 4
        while x < right - 8:
            width = int(rng.integers(3, 9)) * max(1, line // 6)
            draw.rectangle((x, row, min(right - 2, x + width), row + line), fill=(20, 20, 20))
            x += width + int(rng.integers(2, 6)) * max(1, line // 6)


def encode(picture: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def caption(picture: Image.Image, share: float = 0.12) -> Image.Image:
    """The picture with a dark band of white text-like marks over its bottom ``share``."""
    copy = picture.copy()
    draw = ImageDraw.Draw(copy)
    top = int(copy.height * (1 - share))
    draw.rectangle((0, top, copy.width, copy.height), fill=(10, 10, 10))
    rng = np.random.default_rng(99)
    inner = ImageDraw.Draw(copy)
    line = max(6, (copy.height - top) // 3)
    x = 8
    while x < copy.width - 16:
        width = int(rng.integers(4, 14))
        inner.rectangle(
            (x, top + line // 2, x + width, top + line // 2 + line), fill=(240, 240, 240)
        )
        x += width + int(rng.integers(3, 8))
    return copy


def crop(picture: Image.Image, share: float) -> Image.Image:
    """The picture with ``share`` of its width and height cut, split evenly between sides."""
    dx, dy = int(picture.width * share / 2), int(picture.height * share / 2)
    return picture.crop((dx, dy, picture.width - dx, picture.height - dy))


def brighter(picture: Image.Image, factor: float = 1.15) -> Image.Image:
    pixels = np.asarray(picture, dtype=np.float64) * factor
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def video(
    scenes: list[tuple[Image.Image, float]],
    *,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
    container: str = "mp4",
    bit_rate: int | None = None,
) -> bytes:
    """A clip showing each picture for its seconds, with a little motion so frames differ."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        index = 0
        for picture, seconds in scenes:
            base = np.asarray(picture.convert("RGB").resize(size))
            for step in range(int(seconds * fps)):
                shifted = np.roll(base, step % 2, axis=1)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")
                frame.pts = index
                index += 1
                for packet in stream.encode(frame):
                    muxer.mux(packet)
        for packet in stream.encode():
            muxer.mux(packet)
    return out.getvalue()
