"""``video.pdq``: a video's PDQ frame hashes, matched by vPDQ's rule within each bank's distance.

Extraction, from an upload's bytes (:func:`trustdesk.signals.media.video.hash_video`, under
the signal's :class:`~trustdesk.signals.media.limits.MediaLimits`: frames sampled by time,
near-identical neighbours folded): one feature per folded frame, its PDQ ``quality`` and its
``seconds`` into the video. From a caller's ``hashes["video.pdq"]``: the frames of that value
in the banks' canonical form (PDQ hashes joined by ``,``, read by
:func:`trustdesk.signals.pdq_hashes.frames`, the one parser of it), with no quality (the
caller vouches for them). A frame under ``limits.min_quality`` is extracted with its quality
(the caller reports it: :func:`trustdesk.signals.image_pdq.weak`) and left out of matching.
Frames are hashed as :mod:`~trustdesk.signals.media.video` does (scaled to the 576 square),
not at the video's own size as vPDQ's hasher does: a few bits from vPDQ's frame hashes.

The index holds each bank entry as a candidate video in a
:class:`trustdesk.signals.vpdq.VpdqIndex`, one per distinct bank threshold (31 when a bank
sets none), under vPDQ's rule: frames under ``limits.min_quality`` are dropped on both sides
(a bank's frames carry no quality and are kept), and an entry matches when the share of the
query's frames within the distance of one of its frames reaches ``query_share`` (vPDQ's 80 %)
and the share of its frames so matched reaches ``entry_share`` (vPDQ's 0 %). A
:class:`~trustdesk.signals.contract.Match` carries both shares; its ``distance`` stays 0 (a
video's closeness is its shares). Matches come highest query share first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trustdesk.signals.contract import (
    Content,
    Entry,
    EntrySource,
    Feature,
    Kind,
    Match,
    require_kind,
)
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import VIDEO_PDQ
from trustdesk.signals.media.video import hash_video
from trustdesk.signals.pdq_hashes import frames
from trustdesk.signals.vpdq import CANDIDATE_SHARE, QUERY_SHARE, Frame, VpdqIndex, VpdqRule

VOUCHED = 100  # the quality of a frame that carries none (a caller's, a bank's)


class VideoBankIndex:
    """Video bank entries, grouped by their bank's threshold, each group a vPDQ index."""

    def __init__(self, signal: str, source: EntrySource, rule: VpdqRule) -> None:
        self.signal = signal
        self.entries: list[Entry] = []
        self.groups: dict[int, VpdqIndex] = {}
        for entry in source.entries():
            hashes = frames(entry.value)
            video = len(self.entries)
            self.entries.append(Entry(entry.bank, entry.id, ",".join(hashes)))
            threshold = source.threshold(entry.bank)
            group = self.groups.get(threshold)
            if group is None:
                group = self.groups[threshold] = VpdqIndex(
                    VpdqRule(threshold, rule.quality, rule.query_share, rule.candidate_share)
                )
            group.add_video(video, (Frame(h, VOUCHED) for h in hashes))

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        query = [Frame(f.value, VOUCHED if f.quality is None else f.quality) for f in features]
        found = [
            Match(
                self.signal,
                entry=self.entries[hit.video_id],
                query_share=hit.query_share,
                entry_share=hit.candidate_share,
            )
            for group in self.groups.values()
            for hit in group.match(query)
        ]
        found.sort(key=_rank)
        return found[:limit]


def _rank(match: Match) -> tuple[float, float, str, str]:
    entry = match.entry
    assert entry is not None  # every video match names its entry
    return (-(match.query_share or 0.0), -(match.entry_share or 0.0), entry.bank, entry.id)


@dataclass(frozen=True, slots=True)
class VideoPdq:
    name: str = VIDEO_PDQ
    limits: MediaLimits = field(default_factory=MediaLimits)
    query_share: float = QUERY_SHARE
    entry_share: float = CANDIDATE_SHARE
    kinds: frozenset[Kind] = frozenset({Kind.VIDEO})

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        if content.data:
            video = hash_video(content.data, self.limits)
            return tuple(
                Feature(self.name, f.pdq, quality=f.quality, seconds=f.start) for f in video.frames
            )
        given = content.hashes.get(self.name)
        if given is None:
            return ()
        return tuple(Feature(self.name, value) for value in frames(given))

    def index(self, source: EntrySource) -> VideoBankIndex:
        rule = VpdqRule(
            quality=self.limits.min_quality,
            query_share=self.query_share,
            candidate_share=self.entry_share,
        )
        return VideoBankIndex(self.name, source, rule)


VIDEO_PDQ_SIGNAL = VideoPdq()
