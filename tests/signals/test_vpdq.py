"""vPDQ's rule: shares of frames matched both ways, over the index, equal the pairwise reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.errors import InvalidInput
from trustdesk.signals.pdq_hashes import InvalidPdqHash, InvalidPdqThreshold
from trustdesk.signals.pdq_index import PdqIndex
from trustdesk.signals.vpdq import (
    Frame,
    InvalidVpdqFrame,
    InvalidVpdqRule,
    VideoMatch,
    VpdqIndex,
    VpdqRule,
    match_brute,
)


def random_hex(rng: np.random.Generator) -> str:
    return rng.bytes(32).hex()


def nudge(rng: np.random.Generator, text: str, bits: int) -> str:
    raw = bytearray(bytes.fromhex(text))
    for bit in rng.choice(256, size=bits, replace=False):
        raw[int(bit) // 8] ^= 1 << (int(bit) % 8)
    return raw.hex()


def video(rng: np.random.Generator, scenes: list[str], length: int, noise: int) -> list[Frame]:
    """Frames drawn from a few scenes, each nudged by up to ``noise`` bits, some of low quality."""
    frames = []
    for _ in range(length):
        scene = scenes[int(rng.integers(len(scenes)))]
        quality = int(rng.choice([10, 49, 50, 80, 100]))
        frames.append(Frame(nudge(rng, scene, int(rng.integers(0, noise + 1))), quality))
    return frames


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    videos=st.integers(1, 6),
    distance=st.sampled_from([0, 10, 31, 45]),
    compiled=st.booleans(),
)
def test_index_shares_equal_the_pairwise_reference(
    seed: int, videos: int, distance: int, compiled: bool
) -> None:
    rng = np.random.default_rng(seed)
    scenes = [random_hex(rng) for _ in range(8)]  # videos share scenes, so they overlap
    rule = VpdqRule(distance=distance)
    index = VpdqIndex(rule, index=PdqIndex(use_compiled=compiled, background=False))
    candidates = {}
    for video_id in range(videos):
        picked = [scenes[int(i)] for i in rng.choice(8, size=3, replace=False)]
        candidates[video_id] = video(rng, picked, int(rng.integers(0, 25)), 40)
        index.add_video(video_id, candidates[video_id])
    query = video(rng, scenes[:4], int(rng.integers(0, 25)), 40)
    shares = index.shares(query)
    for video_id, frames in candidates.items():
        expected = match_brute(query, frames, rule)
        if expected[0] == 0:
            assert video_id not in shares
        else:
            assert shares[video_id] == pytest.approx(expected)
    passed = {m.video_id for m in index.match(query)}
    assert passed == {v for v, (q, c) in shares.items() if rule.passes(q, c)}


def test_defaults_are_vpdqs() -> None:
    rule = VpdqRule()
    assert (rule.distance, rule.quality, rule.query_share, rule.candidate_share) == (31, 50, 0.8, 0)


def test_a_clip_of_a_known_video_matches_and_padding_does_not() -> None:
    rng = np.random.default_rng(1)
    known = [Frame(random_hex(rng), 100) for _ in range(20)]
    index = VpdqIndex()
    index.add_video(7, known)
    index.add_video(8, [Frame(random_hex(rng), 100) for _ in range(20)])
    clip = [Frame(nudge(rng, f.pdq, 12), 90) for f in known[5:10]]  # re-encoded: a few bits
    assert index.match(clip) == [VideoMatch(7, 1.0, 0.25)]
    padded = clip + [Frame(random_hex(rng), 100) for _ in range(2)]  # 5 of 7 frames: 71 %
    assert index.match(padded) == []
    assert index.shares(padded)[7] == pytest.approx((5 / 7, 0.25))
    strict = VpdqIndex(VpdqRule(candidate_share=0.5))
    strict.add_video(7, known)
    assert strict.match(clip) == []
    assert strict.match(known[:10]) == [VideoMatch(7, 1.0, 0.5)]


def test_low_quality_and_repeated_frames_are_not_counted() -> None:
    rng = np.random.default_rng(2)
    a, b, c = (random_hex(rng) for _ in range(3))
    index = VpdqIndex()
    # b appears only at quality 49: below vPDQ's 50, so the candidate has two frames, a and c
    assert index.add_video(1, [Frame(a, 50), Frame(a, 100), Frame(b, 49), Frame(c, 100)]) == 2
    query = [Frame(a, 100), Frame(a, 100), Frame(a, 60), Frame(b, 100), Frame(c, 0)]
    # prepared query: a and b (c is below quality); a matches, b does not: 1 of 2
    assert index.shares(query) == {1: (0.5, 0.5)}
    assert match_brute(query, [Frame(a, 50), Frame(b, 49), Frame(c, 100)]) == (0.5, 0.5)
    assert index.match([Frame(a.upper(), 100)]) == [VideoMatch(1, 1.0, 0.5)]
    # quality first, then repeats (prepare_vpdq_feature): a good copy after a poor one counts
    assert index.add_video(3, [Frame(b, 49), Frame(b, 100)]) == 1


def test_removed_and_replaced_videos() -> None:
    rng = np.random.default_rng(3)
    frames = [Frame(random_hex(rng), 100) for _ in range(5)]
    other = [Frame(random_hex(rng), 100) for _ in range(5)]
    index = VpdqIndex()
    index.add_video(1, frames)
    index.add_video(1, other)  # replaces
    assert index.match(frames) == []
    assert index.match(other) == [VideoMatch(1, 1.0, 1.0)]
    index.remove_video(1)
    index.remove_video(1)  # again: nothing
    assert index.match(other) == []
    assert len(index) == 0


def test_empty_videos_match_nothing() -> None:
    rng = np.random.default_rng(4)
    index = VpdqIndex()
    assert index.add_video(1, []) == 0
    assert index.add_video(2, [Frame(random_hex(rng), 0)]) == 0
    assert index.match([]) == []
    assert index.match([Frame(random_hex(rng), 100)]) == []
    assert match_brute([], []) == (0.0, 0.0)


def test_bad_frames_and_rules_are_refused() -> None:
    with pytest.raises(InvalidPdqHash):
        Frame("z" * 64, 100)
    for quality in (-1, 101, 50.0, True):
        with pytest.raises(InvalidVpdqFrame) as refused:
            Frame("0" * 64, quality)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_vpdq_frame"
    with pytest.raises(InvalidPdqThreshold):
        VpdqRule(distance=300)
    for bad in ({"query_share": 80.0}, {"candidate_share": -0.1}, {"quality": 101}):
        with pytest.raises(InvalidVpdqRule):
            VpdqRule(**bad)  # type: ignore[arg-type]
    assert issubclass(InvalidVpdqRule, InvalidInput)
