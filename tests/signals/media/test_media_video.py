"""Video PDQ: frames sampled by time and folded; near copies near; every cap holds."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

from bench.media_samples import encode, scene, video
from trustdesk.signals.media.errors import (
    CorruptMedia,
    FrameBudget,
    MediaTimeout,
    MediaTooLarge,
    VideoTooLong,
    WrongMediaType,
)
from trustdesk.signals.media.images import hash_image
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import distance
from trustdesk.signals.media.video import hash_video

FIRST, SECOND = scene(21, 256), scene(22, 256)
CLIP = video([(FIRST, 4), (SECOND, 4)])  # 8 s at 10 frames/s, 160 x 120, H.264 in MP4


def test_two_scenes_fold_into_two_entries_with_their_spans() -> None:
    found = hash_video(CLIP)
    assert found.frames_decoded == 80
    assert found.frames_hashed == 8
    assert found.duration == pytest.approx(8.0, abs=0.2)
    assert (found.width, found.height, found.format) == (160, 120, "mp4")
    assert [(f.start, f.end, f.folded) for f in found.frames] == [(0, 3, 4), (4, 7, 4)]
    assert distance(found.frames[0].pdq, found.frames[1].pdq) > 80
    assert all(not f.low_quality and len(f.pdq) == 64 for f in found.frames)


def test_sampling_follows_time_not_frame_count() -> None:
    found = hash_video(CLIP, MediaLimits(video_seconds_per_frame=0.5, video_fold_distance=0))
    assert found.frames_hashed == 16
    assert [f.start for f in found.frames][:3] == [0.0, 0.5, 1.0]


def test_a_frame_hashes_like_the_picture_it_shows() -> None:
    found = hash_video(CLIP)
    picture = hash_image(encode(FIRST.resize((160, 120)), "JPEG", quality=90)).pdq
    assert distance(found.frames[0].pdq, picture) <= 31


@pytest.mark.parametrize(
    ("size", "bit_rate", "codec", "container"),
    [
        ((320, 240), 60_000, "libx264", "mp4"),
        ((128, 96), None, "libvpx-vp9", "webm"),
        ((160, 120), 200_000, "mpeg4", "avi"),
    ],
    ids=["larger-low-bitrate-h264", "smaller-vp9-webm", "mpeg4-avi"],
)
def test_a_re_encoded_copy_gives_near_frames(
    size: tuple[int, int], bit_rate: int | None, codec: str, container: str
) -> None:
    original = hash_video(CLIP).frames
    copy = hash_video(
        video(
            [(FIRST, 4), (SECOND, 4)],
            size=size,
            bit_rate=bit_rate,
            codec=codec,
            container=container,
        )
    ).frames
    assert len(copy) == len(original)
    for mine, theirs in zip(original, copy, strict=True):
        assert distance(mine.pdq, theirs.pdq) <= 31


def test_a_flat_video_is_reported_as_low_quality() -> None:
    flat = video([(Image.new("RGB", (64, 64), (90, 90, 90)), 2)])
    frames = hash_video(flat).frames
    assert frames and all(f.low_quality for f in frames)


def test_a_video_longer_than_the_cap_is_refused_before_decoding() -> None:
    with pytest.raises(VideoTooLong) as refused:
        hash_video(CLIP, MediaLimits(video_max_seconds=5))
    assert refused.value.code == "video_too_long"


def test_a_video_needing_more_frames_than_the_budget_is_refused() -> None:
    with pytest.raises(FrameBudget) as refused:
        hash_video(CLIP, MediaLimits(video_max_frames=7))
    assert refused.value.code == "frame_budget"
    assert hash_video(CLIP, MediaLimits(video_max_frames=8)).frames_hashed == 8


def test_decoded_frames_are_capped_too() -> None:
    with pytest.raises(FrameBudget):
        hash_video(CLIP, MediaLimits(video_max_decoded_frames=79))


def test_the_resolution_cap_refuses_large_frames() -> None:
    with pytest.raises(MediaTooLarge):
        hash_video(CLIP, MediaLimits(video_max_pixels=160 * 119))


def test_the_wall_clock_budget_stops_decoding() -> None:
    with pytest.raises(MediaTimeout) as refused:
        hash_video(CLIP, MediaLimits(video_wall_seconds=1e-9))
    assert refused.value.code == "media_timeout"


def test_the_byte_cap_refuses_a_large_upload() -> None:
    with pytest.raises(MediaTooLarge):
        hash_video(CLIP, MediaLimits(max_bytes=len(CLIP) - 1))


def test_a_truncated_mp4_is_refused_as_corrupt() -> None:
    with pytest.raises(CorruptMedia) as refused:
        hash_video(CLIP[: len(CLIP) // 2])
    assert refused.value.code == "corrupt_media"


def test_a_truncated_webm_is_refused_as_corrupt() -> None:
    webm = video([(FIRST, 3), (SECOND, 3)], codec="libvpx-vp9", container="webm")
    assert hash_video(webm).frames_hashed == 6
    with pytest.raises(CorruptMedia, match="no decodable frame"):
        hash_video(webm[: len(webm) // 3])
    with pytest.raises(CorruptMedia, match="truncated"):
        hash_video(webm[: len(webm) // 2])


def test_times_count_from_the_first_frame() -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="matroska") as muxer:
        stream = muxer.add_stream("libx264", rate=5)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        pixels = np.ascontiguousarray(np.asarray(FIRST.resize((160, 120))))
        for index in range(10):  # 2 s of video starting 10 s in
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = 50 + index
            muxer.mux(stream.encode(frame))
        muxer.mux(stream.encode())
    found = hash_video(out.getvalue())
    assert found.frames_hashed == 2
    assert [(f.start, f.end) for f in found.frames] == [(0.0, 1.0)]


def test_a_sound_track_longer_than_the_video_is_not_taken_for_truncation() -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="matroska") as muxer:
        picture = muxer.add_stream("libx264", rate=5)
        sound = muxer.add_stream("aac", rate=8000)
        assert isinstance(picture, av.VideoStream)
        assert isinstance(sound, av.AudioStream)
        picture.width, picture.height, picture.pix_fmt = 160, 120, "yuv420p"
        pixels = np.ascontiguousarray(np.asarray(FIRST.resize((160, 120))))
        for index in range(10):  # 2 s of video
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            muxer.mux(picture.encode(frame))
        muxer.mux(picture.encode())
        for index in range(64):  # about 8 s of sound
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = 8000, index * 1024
            muxer.mux(sound.encode(chunk))
        muxer.mux(sound.encode())
    found = hash_video(out.getvalue())
    assert found.duration > 6
    assert found.frames_hashed == 2


def test_a_video_with_mangled_packets_is_refused_or_hashed() -> None:
    mangled = bytearray(CLIP)
    for at in range(2000, len(mangled) - 2000, 97):
        mangled[at] ^= 0x5A
    try:
        found = hash_video(bytes(mangled))
    except CorruptMedia:
        return
    assert found.frames_decoded <= 80


def test_garbage_after_a_video_header_is_refused_as_corrupt() -> None:
    with pytest.raises(CorruptMedia):
        hash_video(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + b"\x5a" * 4000)
    with pytest.raises(CorruptMedia):
        hash_video(b"\x1a\x45\xdf\xa3" + b"\x00" * 4000)


def test_a_picture_is_not_a_video() -> None:
    with pytest.raises(WrongMediaType):
        hash_video(encode(FIRST, "JPEG"))
    with pytest.raises(WrongMediaType):
        hash_video(CLIP, declared="video/webm")


def test_frames_larger_than_the_hash_square_are_scaled_down_by_ffmpeg() -> None:
    large = video([(FIRST, 1), (SECOND, 1)], fps=5, size=(800, 600))
    found = hash_video(large)
    small = hash_video(CLIP)
    assert (found.width, found.height) == (800, 600)
    assert distance(found.frames[0].pdq, small.frames[0].pdq) <= 31
    assert distance(found.frames[-1].pdq, small.frames[-1].pdq) <= 31


def test_a_file_with_sound_only_is_refused_as_corrupt() -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as muxer:
        stream = muxer.add_stream("aac", rate=8000)
        assert isinstance(stream, av.AudioStream)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for index in range(8):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 8000
            frame.pts = index * 1024
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode():
            muxer.mux(packet)
    with pytest.raises(CorruptMedia, match="no video stream"):
        hash_video(out.getvalue())
