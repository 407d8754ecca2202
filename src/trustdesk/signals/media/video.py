"""PDQ hashes of a video's frames, sampled by time and folded as vPDQ does.

:func:`hash_video` opens the upload with the FFmpeg demuxer its magic bytes name (``mov``
for MP4 and QuickTime, ``matroska`` for WebM and MKV, ``avi``; FFmpeg never probes for
another, so no playlist or concat demuxer can read local files or URLs), then:

- refuses a frame size over ``video_max_pixels`` (``media_too_large``), a declared duration
  over ``video_max_seconds`` (``video_too_long``), or one needing more than
  ``video_max_frames`` samples (``frame_budget``), before decoding anything;
- decodes the first video stream packet by packet (``video_threads`` threads), and hashes
  the first frame at or after each multiple of ``video_seconds_per_frame`` seconds, scaled
  by FFmpeg to the ``hash_side`` square as it becomes RGB (a 4K frame never is RGB at full
  size), like a picture;
- stops with a refusal as soon as a frame's time passes ``video_max_seconds``, the samples
  pass ``video_max_frames`` or the decoded frames ``video_max_decoded_frames``
  (``frame_budget``), or the wall clock passes ``video_wall_seconds`` (``media_timeout``);
- refuses undecodable input, a video with no frame, and one that stops well short of the
  duration it declares (``corrupt_media``);
- folds each sampled frame within ``video_fold_distance`` bits of the current entry's first
  frame into that entry, which then spans from its first to its last such frame.

vPDQ (facebook/ThreatExchange ``vpdq/``) samples every ``round(fps x seconds)``-th frame
and drops repeated hashes when matching; sampling by time also holds for variable frame
rates, and folding near-identical neighbours keeps a still scene to one entry.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any

import av
import av.error
import numpy as np

from trustdesk.signals.media.errors import (
    CorruptMedia,
    FrameBudget,
    MediaTimeout,
    MediaTooLarge,
    VideoTooLong,
    WrongMediaType,
)
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import distance, pdq
from trustdesk.signals.media.sniff import sniff

_DEMUXERS = {"mp4": "mov", "matroska": "matroska", "avi": "avi"}
# A video that stops this much short of its declared duration is taken as truncated.
_SHORT_SECONDS = 2.0
_SHORT_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One entry: a frame's PDQ hash, standing for the sampled frames from start to end."""

    pdq: str
    quality: int
    low_quality: bool
    start: float
    end: float
    folded: int = 1
    """How many sampled frames this entry stands for."""


@dataclass(frozen=True, slots=True)
class VideoHash:
    """A video's folded frame hashes and what was learnt decoding it."""

    frames: tuple[VideoFrame, ...]
    duration: float
    """Seconds: the declared duration, or the last decoded frame's time if none is declared."""
    frames_decoded: int
    frames_hashed: int
    width: int
    height: int
    format: str


@dataclass(slots=True)
class _Folder:
    fold_distance: int
    min_quality: int
    entries: list[VideoFrame] = field(default_factory=list)

    def add(self, found: str, quality: int, at: float) -> None:
        if self.entries:
            last = self.entries[-1]
            if distance(last.pdq, found) <= self.fold_distance:
                self.entries[-1] = VideoFrame(
                    last.pdq, last.quality, last.low_quality, last.start, at, last.folded + 1
                )
                return
        self.entries.append(VideoFrame(found, quality, quality < self.min_quality, at, at))


def hash_video(
    data: bytes, limits: MediaLimits | None = None, *, declared: str | None = None
) -> VideoHash:
    """The folded PDQ frame hashes of the video in ``data``; see the module's rules."""
    limits = limits or MediaLimits()
    started = time.monotonic()
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"the video is larger than {limits.max_bytes} bytes")
    sniffed = sniff(data, declared or "video")
    if sniffed.kind != "video":
        raise WrongMediaType(f"expected a video, the bytes are a {sniffed.kind}")
    try:
        with av.open(io.BytesIO(data), mode="r", format=_DEMUXERS[sniffed.format]) as container:
            return _hash(container, sniffed.format, limits, started)
    except av.error.FFmpegError as error:
        raise CorruptMedia(f"the {sniffed.format} video cannot be decoded: {error}") from None


def _declared_seconds(container: Any, stream: Any) -> tuple[float | None, bool]:
    """The declared duration, and whether it is the video's own (the stream's, or the
    container's when the video is its only stream: else a longer sound track may set it)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base), True
    if container.duration is not None:
        return float(container.duration) / av.time_base, len(container.streams) == 1
    return None, False


def _check_header(container: Any, limits: MediaLimits) -> tuple[Any, float | None, bool]:
    if not container.streams.video:
        raise CorruptMedia("the file holds no video stream")
    stream = container.streams.video[0]
    context = stream.codec_context
    width, height = context.width or 0, context.height or 0
    if width * height > limits.video_max_pixels:
        raise MediaTooLarge(
            f"the video's frames are {width} x {height}, more than {limits.video_max_pixels} pixels"
        )
    declared, own = _declared_seconds(container, stream)
    if declared is not None:
        if declared > limits.video_max_seconds:
            raise VideoTooLong(
                f"the video lasts {declared:.1f} s, more than {limits.video_max_seconds:g} s"
            )
        samples = max(1, math.ceil(declared / limits.video_seconds_per_frame - 1e-6))
        if samples > limits.video_max_frames:
            raise FrameBudget(
                f"the video needs {samples} frames hashed, more than {limits.video_max_frames}"
            )
    context.thread_type = "AUTO"
    context.thread_count = limits.video_threads
    return stream, declared, own


def _hash(container: Any, fmt: str, limits: MediaLimits, started: float) -> VideoHash:
    stream, declared, own = _check_header(container, limits)
    folder = _Folder(limits.video_fold_distance, limits.min_quality)
    interval = limits.video_seconds_per_frame
    decoded = hashed = 0
    next_at = 0.0
    last_time = 0.0
    origin: float | None = None
    last_stamp = 0.0  # a container's duration may or may not count the first frame's offset
    size = (0, 0)
    for packet in container.demux(stream):
        if time.monotonic() - started > limits.video_wall_seconds:
            raise MediaTimeout(f"the video took more than {limits.video_wall_seconds:g} s")
        for frame in packet.decode():
            decoded += 1
            if decoded > limits.video_max_decoded_frames:
                raise FrameBudget(
                    f"the video has more than {limits.video_max_decoded_frames} frames"
                )
            if frame.width * frame.height > limits.video_max_pixels:
                raise MediaTooLarge(f"a frame is {frame.width} x {frame.height}")
            stamp = float(frame.time) if frame.time is not None else (decoded - 1) / _rate(stream)
            origin = stamp if origin is None else origin  # times count from the first frame
            at = stamp - origin
            if at > limits.video_max_seconds:
                raise VideoTooLong(f"the video runs past {limits.video_max_seconds:g} s")
            last_time = max(last_time, at)
            last_stamp = max(last_stamp, stamp)
            if at + 1e-6 < next_at:
                continue
            hashed += 1
            if hashed > limits.video_max_frames:
                raise FrameBudget(f"the video needs more than {limits.video_max_frames} frames")
            size = (frame.width, frame.height)
            pixels = frame.to_ndarray(
                format="rgb24",
                width=limits.hash_side,
                height=limits.hash_side,
                interpolation="AREA",
            )
            found, quality = pdq(np.ascontiguousarray(pixels, dtype=np.uint8))
            folder.add(found, quality, round(at, 3))
            next_at = (math.floor(at / interval + 1e-9) + 1) * interval
    if decoded == 0:
        raise CorruptMedia("the video holds no decodable frame")
    short = (
        declared is not None
        and own
        and max(last_time, last_stamp) < declared - max(_SHORT_SECONDS, _SHORT_SHARE * declared)
    )
    if short:
        raise CorruptMedia(
            f"the video stops at {last_time:.1f} s of the {declared:.1f} s it declares (truncated)"
        )
    return VideoHash(
        frames=tuple(folder.entries),
        duration=declared if declared is not None else last_time,
        frames_decoded=decoded,
        frames_hashed=hashed,
        width=size[0],
        height=size[1],
        format=fmt,
    )


def _rate(stream: Any) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 25.0
