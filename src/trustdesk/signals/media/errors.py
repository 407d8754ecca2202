"""Why an upload is refused: one :class:`MediaRefused` branch, a stable code per reason.

Every refusal is an :class:`~trustdesk.errors.InvalidInput` (the caller sent something
unusable), so a generic client sees that branch; a client that cares reacts to ``code``.
"""

from __future__ import annotations

from trustdesk.errors import InvalidInput


class MediaRefused(InvalidInput):
    """An upload that is not turned into signals; ``code`` says why, ``message`` in words."""

    code = "media_refused"
    title = "Media refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="content")


class EmptyMedia(MediaRefused):
    code = "empty_media"
    title = "Empty upload"


class UnsupportedMedia(MediaRefused):
    code = "unsupported_media"
    title = "Unsupported media"


class WrongMediaType(MediaRefused):
    code = "wrong_media_type"
    title = "Media is not of the declared type"


class ZipWrappedMedia(MediaRefused):
    code = "zip_wrapped_media"
    title = "Archive instead of media"


class CorruptMedia(MediaRefused):
    code = "corrupt_media"
    title = "Corrupt or truncated media"


class MediaTooLarge(MediaRefused):
    code = "media_too_large"
    title = "Media too large"


class DecompressionBomb(MediaRefused):
    code = "decompression_bomb"
    title = "Image declares too many pixels"


class VideoTooLong(MediaRefused):
    code = "video_too_long"
    title = "Video too long"


class FrameBudget(MediaRefused):
    code = "frame_budget"
    title = "Video has more frames than the budget"


class MediaTimeout(MediaRefused):
    code = "media_timeout"
    title = "Media took too long to decode"


REFUSALS: tuple[type[MediaRefused], ...] = (
    EmptyMedia,
    UnsupportedMedia,
    WrongMediaType,
    ZipWrappedMedia,
    CorruptMedia,
    MediaTooLarge,
    DecompressionBomb,
    VideoTooLong,
    FrameBudget,
    MediaTimeout,
)
