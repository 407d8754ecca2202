"""Limits: one frozen value, from the TRUSTDESK_MEDIA_ settings or given by the caller."""

from __future__ import annotations

import dataclasses

import pytest

from trustdesk.settings import Settings
from trustdesk.signals.media import REFUSALS, MediaLimits


def test_the_defaults_are_the_settings_defaults() -> None:
    assert MediaLimits.from_settings(Settings(_env_file=None)) == MediaLimits()


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_MEDIA_MAX_IMAGE_PIXELS", "1000000")
    monkeypatch.setenv("TRUSTDESK_MEDIA_VIDEO_MAX_FRAMES", "30")
    monkeypatch.setenv("TRUSTDESK_MEDIA_MIN_PDQ_QUALITY", "70")
    limits = MediaLimits.from_settings(Settings(_env_file=None))
    assert (limits.max_image_pixels, limits.video_max_frames, limits.min_quality) == (
        1_000_000,
        30,
        70,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"max_bytes": 0},
        {"video_seconds_per_frame": 0},
        {"max_image_pixels": 100_000_000},  # past Pillow's own limit, which would then warn
        {"min_quality": 101},
        {"video_fold_distance": -1},
    ],
)
def test_unbounded_limits_are_refused(change: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="MediaLimits"):
        MediaLimits(**change)  # type: ignore[arg-type]


def test_limits_are_frozen_and_codes_are_unique() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MediaLimits().max_bytes = 1  # type: ignore[misc]
    codes = [refusal.code for refusal in REFUSALS]
    assert len(codes) == len(set(codes)) == 10
