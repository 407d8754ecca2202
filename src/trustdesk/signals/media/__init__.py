"""Media signals: uploaded bytes turned into ``file.sha256``, ``file.md5``, ``image.pdq`` and
``video.pdq``, safely. Pure: no database, no HTTP, no screening.

    sniff(data, declared)        what the bytes are (magic bytes only)       sniff.py
    hash_bytes / hash_chunks     SHA-256 and MD5, under a byte cap           files.py
    hash_image(data, limits)     PDQ hash (pytx's), quality, dihedral hashes images.py
    hash_video(data, limits)     PDQ of frames sampled by time, folded       video.py
    MediaLimits                  every cap, built from TRUSTDESK_MEDIA_*     limits.py

Every refusal is a :class:`MediaRefused` (an :class:`~trustdesk.errors.InvalidInput`) with a
stable code:

    empty_media          nothing was sent
    unsupported_media    no known format, or one not decoded here (TIFF, HEIF, PDF, SVG ...)
    wrong_media_type     the bytes disagree with the declared kind or MIME type
    zip_wrapped_media    an archive (zip, gzip, 7z, rar ...), or media with a zip appended
    corrupt_media        truncated or undecodable; a video with no frame, or cut short
    media_too_large      over the byte cap, or video frames over the resolution cap
    decompression_bomb   a picture declaring more pixels than the cap (checked before decoding)
    video_too_long       declared duration, or a frame's time, over the duration cap
    frame_budget         more frames to hash, or to decode, than the budget
    media_timeout        decoding took longer than the wall-clock budget

A PDQ hash whose quality is below ``MediaLimits.min_quality`` is returned with
``low_quality`` set: reported, but not to be matched.
"""

from __future__ import annotations

from trustdesk.signals.media.errors import REFUSALS, MediaRefused
from trustdesk.signals.media.files import MD5, SHA256, FileHashes, hash_bytes, hash_chunks
from trustdesk.signals.media.images import ImageHash, hash_image
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import IMAGE_PDQ, VIDEO_PDQ, DihedralHash, distance
from trustdesk.signals.media.sniff import Sniffed, sniff
from trustdesk.signals.media.video import VideoFrame, VideoHash, hash_video

__all__ = [
    "IMAGE_PDQ",
    "MD5",
    "REFUSALS",
    "SHA256",
    "VIDEO_PDQ",
    "DihedralHash",
    "FileHashes",
    "ImageHash",
    "MediaLimits",
    "MediaRefused",
    "Sniffed",
    "VideoFrame",
    "VideoHash",
    "distance",
    "hash_bytes",
    "hash_chunks",
    "hash_image",
    "hash_video",
    "sniff",
]
