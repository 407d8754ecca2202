"""The bounds every media decode runs under, as one small frozen value.

Callers build :class:`MediaLimits` from the settings (:meth:`MediaLimits.from_settings`);
tests and benchmarks give their own. Nothing in this package reads a global limit, and
nothing changes Pillow's or FFmpeg's process-wide state.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.settings import Settings

MIB = 1024 * 1024
# Pillow warns past 89,478,485 pixels and refuses past twice that, process-wide; our own cap
# stays below, so Pillow's check never fires (and never warns) for an image we let through.
PILLOW_PIXEL_LIMIT = 89_478_485


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Caps on bytes, pixels, frames and time; the defaults are the settings' defaults."""

    max_bytes: int = 256 * MIB
    """Largest upload of any kind (file hashes, and video)."""
    max_image_bytes: int = 32 * MIB
    """Largest image upload."""
    max_image_pixels: int = 40_000_000
    """Most pixels (width x height) an image may declare; more is a decompression bomb."""
    pdq_full_pixels: int = 24_000_000
    """A JPEG with more pixels is decoded at a reduced DCT scale before PDQ (time and memory),
    its hash then a few bits from python-threatexchange's; anything else decodes at full size."""
    hash_side: int = 576
    """Video frames are scaled to this square before PDQ, and pictures for their query-only
    dihedral hashes (the primary picture hash is of the full picture).

    PDQ itself shrinks to 64 x 64, ignoring the aspect; 576 is 64 x 9, an odd multiple of
    64 with an odd box-filter window (5), so PDQ's sampling is symmetric and a mirrored or
    turned copy hashes (nearly) exactly as the original's dihedral hashes predict. At 512
    (64 x 8) the sampling is off by a pixel and a mirrored copy lands 14-32 bits away.
    """
    min_quality: int = 50
    """Below this PDQ quality a hash is reported as weak (PDQ's usual threshold)."""
    video_seconds_per_frame: float = 1.0
    """One frame hashed per this many seconds of video."""
    video_max_frames: int = 1800
    """Most frames hashed from one video (the frame budget)."""
    video_max_decoded_frames: int = 200_000
    """Most frames decoded from one video (every frame is decoded, one in N hashed)."""
    video_max_seconds: float = 1800.0
    """Longest video accepted, by its declared duration and by its frames' times."""
    video_max_pixels: int = 36_000_000
    """Most pixels a video frame may declare (8K is 33.2 million)."""
    video_wall_seconds: float = 120.0
    """Wall-clock seconds one video may take to decode and hash."""
    video_fold_distance: int = 8
    """Consecutive frames within this PDQ distance of an entry fold into it."""
    video_threads: int = 1
    """FFmpeg decoding threads for one video."""

    def __post_init__(self) -> None:
        positive = {
            "max_bytes": self.max_bytes,
            "max_image_bytes": self.max_image_bytes,
            "max_image_pixels": self.max_image_pixels,
            "hash_side": self.hash_side,
            "pdq_full_pixels": self.pdq_full_pixels,
            "video_seconds_per_frame": self.video_seconds_per_frame,
            "video_max_frames": self.video_max_frames,
            "video_max_decoded_frames": self.video_max_decoded_frames,
            "video_max_seconds": self.video_max_seconds,
            "video_max_pixels": self.video_max_pixels,
            "video_wall_seconds": self.video_wall_seconds,
            "video_threads": self.video_threads,
        }
        for name, value in positive.items():
            if value <= 0:
                msg = f"MediaLimits.{name} must be positive, not {value}"
                raise ValueError(msg)
        if self.max_image_pixels > PILLOW_PIXEL_LIMIT:
            msg = f"MediaLimits.max_image_pixels may be at most {PILLOW_PIXEL_LIMIT}"
            raise ValueError(msg)
        if not 0 <= self.min_quality <= 100:
            msg = "MediaLimits.min_quality is from 0 to 100"
            raise ValueError(msg)
        if not 0 <= self.video_fold_distance <= 256:
            msg = "MediaLimits.video_fold_distance is from 0 to 256"
            raise ValueError(msg)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        """The limits the operator configured (``TRUSTDESK_MEDIA_*``); the decoded-frame cap,
        the fold distance and the decoding threads keep their defaults."""
        return cls(
            max_bytes=settings.media_max_bytes,
            max_image_bytes=settings.media_max_image_bytes,
            max_image_pixels=settings.media_max_image_pixels,
            min_quality=settings.media_min_pdq_quality,
            video_seconds_per_frame=settings.media_video_seconds_per_frame,
            video_max_frames=settings.media_video_max_frames,
            video_max_seconds=settings.media_video_max_seconds,
            video_max_pixels=settings.media_video_max_pixels,
            video_wall_seconds=settings.media_video_wall_seconds,
        )
