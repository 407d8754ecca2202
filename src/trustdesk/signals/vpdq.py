"""vPDQ's rule for a video match, over a PDQ index of the candidate videos' frames.

A video is a list of frames, each a PDQ hash with its quality (0-100). vPDQ (facebook/
ThreatExchange, ``vpdq/README.md``; python-threatexchange ``extensions/vpdq/vpdq_util.py``,
``vpdq_brute_matcher.py`` and ``vpdq_index.py``) compares two videos so:

1. each side's frames are *prepared*: frames below the quality threshold are dropped, then
   frames with a hash already seen are dropped (``prepare_vpdq_feature``: quality, then dedupe);
2. the query's share is the part of the query's prepared frames within the distance threshold of
   some prepared frame of the candidate; the candidate's share is the part of the candidate's
   prepared frames within the distance of some prepared query frame;
3. the candidate matches when ``query_share >= query_threshold`` and
   ``candidate_share >= candidate_threshold`` (both inclusive, as ``VPDQIndex.query``).

Defaults are vPDQ's (``vpdq_util.py``): quality 50, distance 31, query share 80 %, candidate share
0 %. Shares here are fractions (0.8 for vPDQ's 80.0 percent). A bank may set its own distance.

:func:`match_brute` is the pairwise reference (``match_VPDQ_hash_brute``); :class:`VpdqIndex`
answers the same for every candidate at once through :class:`~trustdesk.signals.pdq_index.PdqIndex`,
one search per prepared query frame (tests hold the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from trustdesk.errors import InvalidInput
from trustdesk.signals.pdq_hashes import check_threshold, distance, pack
from trustdesk.signals.pdq_index import PdqIndex

QUALITY_THRESHOLD = 50
DISTANCE_THRESHOLD = 31
QUERY_SHARE = 0.8
CANDIDATE_SHARE = 0.0


class InvalidVpdqFrame(InvalidInput):
    """A frame's quality outside 0..100 (a bad hash is ``invalid_pdq_hash``)."""

    code = "invalid_vpdq_frame"


class InvalidVpdqRule(InvalidInput):
    """A share threshold outside 0..1 or a quality threshold outside 0..100."""

    code = "invalid_vpdq_rule"


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame: its PDQ hash (canonical hex) and PDQ's quality score."""

    pdq: str
    quality: int

    def __post_init__(self) -> None:
        pack(self.pdq)  # refuses a malformed hash
        if isinstance(self.quality, bool) or not isinstance(self.quality, int):
            raise InvalidVpdqFrame("a frame's quality is a whole number", field="quality")
        if not 0 <= self.quality <= 100:
            raise InvalidVpdqFrame(
                f"a frame's quality is 0 to 100, not {self.quality}", field="quality"
            )


@dataclass(frozen=True, slots=True)
class VpdqRule:
    """When two videos match; vPDQ's defaults."""

    distance: int = DISTANCE_THRESHOLD
    quality: int = QUALITY_THRESHOLD
    query_share: float = QUERY_SHARE
    candidate_share: float = CANDIDATE_SHARE

    def __post_init__(self) -> None:
        check_threshold(self.distance)
        if not 0 <= self.quality <= 100:
            raise InvalidVpdqRule("the quality threshold is 0 to 100", field="quality")
        for name in ("query_share", "candidate_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidVpdqRule(f"{name} is a fraction from 0 to 1", field=name)

    def passes(self, query_share: float, candidate_share: float) -> bool:
        return query_share >= self.query_share and candidate_share >= self.candidate_share


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A candidate video that passed the rule, with both shares."""

    video_id: int
    query_share: float
    candidate_share: float


def prepare(frames: Iterable[Frame], quality: int) -> list[str]:
    """The hashes vPDQ compares: frames of at least ``quality``, each hash once, in order."""
    seen: dict[str, None] = {}
    for frame in frames:
        if frame.quality >= quality:
            seen.setdefault(frame.pdq.lower(), None)
    return list(seen)


def match_brute(
    query: Sequence[Frame], candidate: Sequence[Frame], rule: VpdqRule = VpdqRule()
) -> tuple[float, float]:
    """(query share, candidate share) of two videos by comparing every pair of frames."""
    mine, theirs = prepare(query, rule.quality), prepare(candidate, rule.quality)
    if not mine or not theirs:
        return 0.0, 0.0
    near = [[distance(a, b) <= rule.distance for b in theirs] for a in mine]
    query_hits = sum(any(row) for row in near)
    candidate_hits = sum(any(row[j] for row in near) for j in range(len(theirs)))
    return query_hits / len(mine), candidate_hits / len(theirs)


class VpdqIndex:
    """Candidate videos' prepared frames, searched together for a query video."""

    def __init__(self, rule: VpdqRule = VpdqRule(), *, index: PdqIndex | None = None) -> None:
        self.rule = rule
        self._frames = index if index is not None else PdqIndex()
        self._video_of: dict[int, int] = {}  # frame entry id -> video id
        self._entries_of: dict[int, range] = {}  # video id -> its frames' entry ids
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries_of)

    def add_video(self, video_id: int, frames: Iterable[Frame]) -> int:
        """Index a candidate video's prepared frames (replacing any it had); returns how many."""
        self.remove_video(video_id)
        hashes = prepare(frames, self.rule.quality)
        entries = range(self._next, self._next + len(hashes))
        self._next = entries.stop
        if hashes:
            rows = np.frombuffer(b"".join(pack(h) for h in hashes), dtype=np.uint64)
            self._frames.add(rows.reshape(-1, 4), np.arange(entries.start, entries.stop))
        for entry in entries:
            self._video_of[entry] = video_id
        self._entries_of[video_id] = entries
        return len(hashes)

    def remove_video(self, video_id: int) -> None:
        entries = self._entries_of.pop(video_id, None)
        if entries is None:
            return
        if len(entries):
            self._frames.remove(np.arange(entries.start, entries.stop))
        for entry in entries:
            del self._video_of[entry]

    def shares(self, query: Iterable[Frame]) -> dict[int, tuple[float, float]]:
        """(query share, candidate share) for every candidate with at least one frame matched."""
        mine = prepare(query, self.rule.quality)
        query_hits: dict[int, set[int]] = {}
        candidate_hits: dict[int, set[int]] = {}
        for i, frame in enumerate(mine):
            for match in self._frames.search(pack(frame), self.rule.distance):
                video = self._video_of[match.entry_id]
                query_hits.setdefault(video, set()).add(i)
                candidate_hits.setdefault(video, set()).add(match.entry_id)
        shares = {}
        for video, hits in query_hits.items():
            frames = len(self._entries_of[video])
            shares[video] = (len(hits) / len(mine), len(candidate_hits[video]) / frames)
        return shares

    def match(self, query: Iterable[Frame]) -> list[VideoMatch]:
        """Candidates that pass the rule: highest query share first, then by video id."""
        found = [
            VideoMatch(video, q, c)
            for video, (q, c) in self.shares(query).items()
            if self.rule.passes(q, c)
        ]
        return sorted(found, key=lambda m: (-m.query_share, -m.candidate_share, m.video_id))
