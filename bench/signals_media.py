"""Media signal figures: hashing rates on one core, and PDQ's matching-quality table.

- ``images_per_cpu_second``: ``hash_image`` over distinct 1024 x 1024 JPEGs (quality 85)
  and PNGs, generated here, the process pinned to one core; per CPU second (a busy shared
  machine moves it less than wall time), and per wall second beside it.
- ``video``: ``hash_video`` over a generated 720p H.264 clip: frames decoded per second, and
  frames hashed per second when every frame is hashed (``video_seconds_per_frame`` = 1/fps)
  and at the default one a second.
- ``matching``: on ``BENCH_MEDIA_PICTURES`` generated pictures (default 8, 1024 px),
  the PDQ distance of each edit to the original (min / median / max over pictures): resized,
  JPEG quality 50, 15 % brighter, grey, mirrored and turned 90 degrees (plain, and the least
  over the copy's eight dihedral hashes), crops of 2, 5 and 10 %, a caption band over the
  bottom 12 %, and different pictures (the least over all pairs). Then what extra stored
  hashes would recover, the queries re-encoded (JPEG 75): off-centre crops (cut from the
  left and top only) against the original and its centre crops of 4, 8 and 12 %, and
  captions of 10 and 14 % with both query and original cut to their top 85 %.
- ``pytx_interop``: the distance of our primary hash to python-threatexchange's for the same
  file (JPEG and PNG, two sizes per picture), beside that of the 576-square hash.
"""

from __future__ import annotations

import io
import itertools
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import pdqhash
from PIL import Image, ImageOps

from bench.media_samples import brighter, caption, crop, encode, scene, video
from trustdesk.signals.media import MediaLimits, distance, hash_image, hash_video
from trustdesk.signals.media.pdq import to_hex

MATCH_DISTANCE = 31


def _pinned() -> set[int]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    return before


def _rate(work: Callable[[], int], rounds: int = 3) -> dict[str, float]:
    """Best of ``rounds``: items per CPU second and per wall second."""
    best_cpu = best_wall = 0.0
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        items = work()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best_cpu = max(best_cpu, items / max(cpu, 1e-9))
        best_wall = max(best_wall, items / max(wall, 1e-9))
    return {"per_cpu_second": round(best_cpu, 1), "per_wall_second": round(best_wall, 1)}


def _image_rates(count: int) -> dict[str, dict[str, float]]:
    pictures = [scene(seed, 1024) for seed in range(100, 100 + count)]
    jpegs = [encode(p, "JPEG", quality=85) for p in pictures]
    pngs = [encode(p, "PNG") for p in pictures]

    def run(blobs: list[bytes]) -> Callable[[], int]:
        def work() -> int:
            for blob in blobs:
                hash_image(blob)
            return len(blobs)

        return work

    return {"jpeg_1024": _rate(run(jpegs)), "png_1024": _rate(run(pngs))}


def _interop(count: int) -> dict[str, object]:
    """Our primary hash against python-threatexchange's (``pdqhash.compute`` on the plain
    full-size RGB array), and what the former 576-square hash was, on JPEGs and PNGs of odd
    sizes."""
    ours: list[int] = []
    square: list[int] = []
    for seed, size in itertools.product(range(200, 200 + count), ((1024, 768), (640, 401))):
        picture = scene(seed, 768).resize(size)
        for blob in (encode(picture, "JPEG", quality=85), encode(picture)):
            rgb = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
            theirs = to_hex(pdqhash.compute(rgb)[0])
            ours.append(distance(hash_image(blob).pdq, theirs))
            side = hash_image(blob, dihedral=True).dihedral[0].pdq  # the 576 square's
            square.append(distance(side, theirs))
    return {"primary": _spread(ours), "former_576_square": _spread(square)}


def _video_rates(seconds: float) -> dict[str, object]:
    fps = 30
    clip = video(
        [(scene(201, 720), seconds / 2), (scene(202, 720), seconds / 2)],
        fps=fps,
        size=(1280, 720),
    )
    every = MediaLimits(video_seconds_per_frame=1 / fps, video_max_frames=10_000)
    found: dict[str, int] = {}

    def run(limits: MediaLimits, name: str) -> Callable[[], int]:
        def work() -> int:
            result = hash_video(clip, limits)
            found[name] = result.frames_hashed
            return result.frames_decoded

        return work

    all_frames = _rate(run(every, "every"), rounds=2)
    one_a_second = _rate(run(MediaLimits(), "default"), rounds=2)
    return {
        "clip": f"1280x720 H.264, {fps} fps, {seconds:g} s, two scenes",
        "every_frame_hashed_frames_per_cpu_second": all_frames["per_cpu_second"],
        "one_a_second_decoded_frames_per_cpu_second": one_a_second["per_cpu_second"],
        "one_a_second_decoded_frames_per_wall_second": one_a_second["per_wall_second"],
        "frames_hashed": found,
    }


def _spread(values: list[int]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized_to_400": lambda p: p.resize((400, 400)),
    "jpeg_q50": lambda p: Image.open(io.BytesIO(encode(p, "JPEG", quality=50))),
    "brighter_15": brighter,
    "grey": lambda p: p.convert("L"),
    "mirrored": ImageOps.mirror,
    "rotated_90": lambda p: p.transpose(Image.Transpose.ROTATE_90),
    "crop_2": lambda p: crop(p, 0.02),
    "crop_5": lambda p: crop(p, 0.05),
    "crop_10": lambda p: crop(p, 0.10),
    "caption_band_12": lambda p: caption(p, 0.12),
}


def _corner_crop(picture: Image.Image, share: float) -> Image.Image:
    """``share`` of the width and height cut from the left and top only (off-centre)."""
    dx, dy = int(picture.width * share), int(picture.height * share)
    return picture.crop((dx, dy, picture.width, picture.height))


def _jpeg(picture: Image.Image) -> bytes:
    return encode(picture, "JPEG", quality=75)


def _extra(picture: Image.Image, original: str, extra: dict[str, list[int]]) -> None:
    """What extra hashes stored with each bank entry would recover (queries re-encoded)."""
    centre = [hash_image(encode(crop(picture, share))).pdq for share in (0.04, 0.08, 0.12)]
    for share in (0.02, 0.05, 0.10):
        query = hash_image(_jpeg(_corner_crop(picture, share))).pdq
        extra.setdefault(f"corner_crop_{round(share * 100)}_plain", []).append(
            distance(original, query)
        )
        extra.setdefault(f"corner_crop_{round(share * 100)}_vs_3_stored_centre_crops", []).append(
            min(distance(stored, query) for stored in [original, *centre])
        )
    top = (0, 0, picture.width, int(picture.height * 0.85))
    for share in (0.10, 0.14):
        band = caption(picture, share)
        query = hash_image(_jpeg(band.crop(top))).pdq
        extra.setdefault(f"caption_{round(share * 100)}_both_cut_to_top_85", []).append(
            distance(hash_image(encode(picture.crop(top))).pdq, query)
        )


def _matching(count: int) -> dict[str, object]:
    table: dict[str, list[int]] = {}
    extra: dict[str, list[int]] = {}
    originals: list[str] = []
    for seed in range(count):
        picture = scene(300 + seed, 1024)
        original = hash_image(encode(picture)).pdq
        originals.append(original)
        for name, edit in EDITS.items():
            copy = hash_image(encode(edit(picture)), dihedral=True)
            table.setdefault(name, []).append(distance(original, copy.pdq))
            if name in ("mirrored", "rotated_90"):
                nearest = min(distance(original, d.pdq) for d in copy.dihedral)
                table.setdefault(f"{name}_dihedral", []).append(nearest)
        _extra(picture, original, extra)
    pairs = [distance(a, b) for a, b in itertools.combinations(originals, 2)]
    rows = {name: _spread(values) for name, values in table.items()}
    rows["different_pictures"] = _spread(pairs)
    for name, values in rows.items():
        values["match_at_31"] = (
            sum(v <= MATCH_DISTANCE for v in table[name]) / len(table[name])
            if name in table
            else sum(v <= MATCH_DISTANCE for v in pairs) / len(pairs)
        )
    return {
        "pictures": count,
        "distances": rows,
        "with_extra_stored_hashes": {name: _spread(values) for name, values in extra.items()},
    }


def run() -> dict[str, object]:
    count = int(os.environ.get("BENCH_MEDIA_PICTURES", "8"))
    before = _pinned()
    try:
        return {
            "images_per_second_one_core": _image_rates(
                int(os.environ.get("BENCH_MEDIA_IMAGES", "20"))
            ),
            "video_one_core": _video_rates(float(os.environ.get("BENCH_MEDIA_VIDEO_SECONDS", "6"))),
            "matching": _matching(count),
            "pytx_interop": _interop(count),
            "note": "shared 2-core machine, busy with other work; process pinned to one core",
        }
    finally:
        os.sched_setaffinity(0, before)
