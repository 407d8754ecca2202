"""``image.pdq`` and ``video.pdq`` as signals: each bank's threshold, the quality floor,
query-only dihedral hashes, caller hashes checked, vPDQ's shares on every video match."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from bench.media_samples import encode, scene, video
from trustdesk.signals.contract import Content, Entries, Entry, Kind, Match
from trustdesk.signals.image_pdq import IMAGE_PDQ_SIGNAL, ImagePdq, weak
from trustdesk.signals.media.images import hash_image
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import distance
from trustdesk.signals.media.video import hash_video
from trustdesk.signals.pdq_hashes import InvalidPdqHash
from trustdesk.signals.video_pdq import VIDEO_PDQ_SIGNAL, VideoPdq

PICTURE = scene(41, 320)
PLANTED = hash_image(encode(PICTURE)).pdq


def flipped(value: str, bits: int) -> str:
    """``value`` with its first ``bits`` bits inverted: exactly ``bits`` away."""
    number = int(value, 16) ^ ((1 << 256) - (1 << (256 - bits)))
    return f"{number:064x}"


def image_matches(
    source: Entries, content: Content, signal: ImagePdq = IMAGE_PDQ_SIGNAL
) -> list[Match]:
    return list(signal.index(source).search(signal.extract(content), 100))


def test_the_first_feature_is_the_pytx_hash_and_the_rest_are_query_only_turns() -> None:
    data = encode(PICTURE, "JPEG", quality=90)
    features = IMAGE_PDQ_SIGNAL.extract(Content(Kind.IMAGE, data=data))
    assert features[0].value == hash_image(data).pdq
    assert 1 < len(features) <= 8
    assert len({f.value for f in features}) == len(features)
    assert {f.quality for f in features} == {hash_image(data).quality}


def test_each_bank_matches_within_its_own_threshold() -> None:
    near = flipped(PLANTED, 20)  # each bank holds the picture's hash moved 20 bits
    source = Entries(
        (Entry("strict", "s", near), Entry("loose", "l", near), Entry("unset", "u", near)),
        thresholds={"strict": 10, "loose": 40},  # "unset" sets none: 31
    )
    found = image_matches(source, Content(Kind.IMAGE, data=encode(PICTURE)))
    assert sorted((m.entry.bank, m.distance) for m in found if m.entry) == [
        ("loose", 20),
        ("unset", 20),
    ]
    assert (
        image_matches(
            Entries((Entry("far", "f", flipped(PLANTED, 32)),)),
            Content(Kind.IMAGE, data=encode(PICTURE)),
        )
        == []
    )


def test_a_turned_copy_matches_once_at_its_nearest_distance() -> None:
    source = Entries.of("bank", [("e", PLANTED)])
    turned = encode(PICTURE.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=85)
    assert distance(hash_image(turned).pdq, PLANTED) > 31  # the primary alone misses
    found = image_matches(source, Content(Kind.IMAGE, data=turned))
    assert [(m.entry.id, m.distance <= 31) for m in found if m.entry] == [("e", True)]
    mirrored = encode(ImageOps.mirror(PICTURE))
    assert len(image_matches(source, Content(Kind.IMAGE, data=mirrored))) == 1


def test_a_picture_under_the_quality_floor_is_reported_and_never_matched() -> None:
    flat = encode(Image.new("RGB", (200, 200), (90, 100, 110)))
    features = IMAGE_PDQ_SIGNAL.extract(Content(Kind.IMAGE, data=flat))
    assert weak(features, MediaLimits().min_quality) == tuple(features)
    source = Entries.of("bank", [("flat", features[0].value)])
    assert image_matches(source, Content(Kind.IMAGE, data=flat)) == []
    lenient = ImagePdq(limits=MediaLimits(min_quality=0))
    assert weak(lenient.extract(Content(Kind.IMAGE, data=flat)), 0) == ()
    assert [m.distance for m in image_matches(source, Content(Kind.IMAGE, data=flat), lenient)] == [
        0
    ]


@pytest.mark.parametrize(
    "value",
    ["", "abc", PLANTED + "0", "g" * 64, "x" * 10_000],
    ids=["empty", "short", "long", "not-hex", "huge"],
)
def test_a_malformed_pdq_sent_or_banked_is_refused(value: str) -> None:
    with pytest.raises(InvalidPdqHash) as refused:
        IMAGE_PDQ_SIGNAL.extract(Content(Kind.IMAGE, hashes={"image.pdq": value}))
    assert refused.value.code == "invalid_pdq_hash"
    assert len(refused.value.message) < 200
    with pytest.raises(InvalidPdqHash):
        IMAGE_PDQ_SIGNAL.index(Entries.of("bank", [("ok", PLANTED), ("bad", value)]))


SCENES = [(scene(seed, 160), 1.0) for seed in range(42, 47)]  # five scenes, a second each
OTHER, THIRD = scene(47, 160), scene(48, 160)
BANKED = ",".join(f.pdq for f in hash_video(video(SCENES)).frames)


def video_matches(source: Entries, content: Content) -> list[Match]:
    signal = VIDEO_PDQ_SIGNAL
    return list(signal.index(source).search(signal.extract(content), 100))


def test_a_video_match_carries_both_shares() -> None:
    source = Entries.of("bank", [("e", BANKED)])
    assert len(BANKED.split(",")) == 5  # a frame per scene, the rest folded
    longer = video([*SCENES, (OTHER, 1.0)])  # an extra scene: 5 of its 6 frames match
    [match] = video_matches(source, Content(Kind.VIDEO, data=longer))
    assert match.entry is not None and match.entry.value == BANKED.lower()
    assert match.query_share is not None and 0.8 <= match.query_share < 1.0
    assert match.entry_share == 1.0
    assert match.span is None and match.distance == 0


def test_a_video_under_the_query_share_does_not_match() -> None:
    source = Entries.of("bank", [("e", BANKED)])
    half = video([*SCENES[:2], (OTHER, 1.0), (THIRD, 1.0)])  # half its frames are the bank's
    assert video_matches(source, Content(Kind.VIDEO, data=half)) == []
    loose = VideoPdq(query_share=0.4)
    found = loose.index(source).search(loose.extract(Content(Kind.VIDEO, data=half)), 10)
    assert [m.entry.id for m in found if m.entry] == ["e"]


def test_a_video_bank_s_threshold_is_its_own() -> None:
    frames = BANKED.split(",")
    moved = ",".join(flipped(f, 20) for f in frames)
    source = Entries(
        (Entry("strict", "s", moved), Entry("default", "d", moved)), thresholds={"strict": 10}
    )
    found = video_matches(source, Content(Kind.VIDEO, hashes={"video.pdq": BANKED}))
    assert [(m.entry.bank, m.query_share) for m in found if m.entry] == [("default", 1.0)]


@pytest.mark.parametrize(
    "value",
    ["", PLANTED + ",", PLANTED + ",abc", ",".join([PLANTED, flipped(PLANTED, 1)] * 513)],
    ids=["empty", "trailing-comma", "short-frame", "too-many-frames"],
)
def test_a_malformed_video_value_is_refused(value: str) -> None:
    with pytest.raises(InvalidPdqHash) as refused:
        VIDEO_PDQ_SIGNAL.extract(Content(Kind.VIDEO, hashes={"video.pdq": value}))
    assert refused.value.code == "invalid_pdq_hash"
    with pytest.raises(InvalidPdqHash):
        VIDEO_PDQ_SIGNAL.index(Entries.of("bank", [("bad", value)]))


def test_a_callers_frames_fold_consecutive_repeats() -> None:
    sent = f" {PLANTED.upper()},{PLANTED},{flipped(PLANTED, 3)} "
    features = VIDEO_PDQ_SIGNAL.extract(Content(Kind.VIDEO, hashes={"video.pdq": sent}))
    assert [f.value for f in features] == [PLANTED, flipped(PLANTED, 3)]
    assert {f.quality for f in features} == {None}
