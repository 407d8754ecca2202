"""``image.pdq``: a picture's PDQ hash, matched within each bank's distance.

Extraction, from an upload's bytes (:func:`trustdesk.signals.media.images.hash_image`, under
the signal's :class:`~trustdesk.signals.media.limits.MediaLimits`): the FIRST feature is the
primary hash, python-threatexchange's and HMA's for the same file, the one to report and
store; the features after it are the distinct hashes of the picture turned and mirrored
(PDQ's dihedral hashes of the 576 square), query-only, so a turned or mirrored copy of a
bank's picture matches too (HMA does not look for them by default). Every feature carries
the picture's PDQ ``quality``. From a caller's ``hashes["image.pdq"]`` (64 hex digits,
blanks and case forgiven; anything else ``invalid_pdq_hash``): that one feature, with no
quality (the caller vouches for it).

Quality floor: a feature whose quality is below ``limits.min_quality`` is extracted (the
caller reports it: ``Feature.quality``, and :func:`weak`) but never searched: a flat or
featureless picture lies near many others.

The index is a :class:`trustdesk.signals.pdq_index.PdqIndex` of the bank entries (exact at
every distance), searched once per feature at the widest bank threshold; a hit stands when
its distance is within its own bank's threshold (:meth:`EntrySource.threshold`, 31 when the
bank sets none). An entry matched by several features (the primary and a turned copy)
counts once, at its least distance; matches come nearest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from trustdesk.signals.contract import (
    Content,
    Entry,
    EntrySource,
    Feature,
    Kind,
    Match,
    require_kind,
)
from trustdesk.signals.media.images import hash_image
from trustdesk.signals.media.limits import MediaLimits
from trustdesk.signals.media.pdq import IMAGE_PDQ
from trustdesk.signals.pdq_hashes import canonical, check_threshold, pack, pack_many
from trustdesk.signals.pdq_index import PdqIndex


def weak(features: Sequence[Feature], min_quality: int) -> tuple[Feature, ...]:
    """The features below the quality floor: reported, never matched."""
    return tuple(f for f in features if f.quality is not None and f.quality < min_quality)


class PdqBankIndex:
    """PDQ bank entries, each bank matched within its own threshold."""

    def __init__(self, signal: str, source: EntrySource, min_quality: int) -> None:
        self.signal = signal
        self.min_quality = min_quality
        self.entries: list[Entry] = []
        self.thresholds: dict[str, int] = {}
        for entry in source.entries():
            self.entries.append(Entry(entry.bank, entry.id, canonical(entry.value.strip())))
            if entry.bank not in self.thresholds:
                self.thresholds[entry.bank] = check_threshold(source.threshold(entry.bank))
        self.widest = max(self.thresholds.values(), default=0)
        self.pdq = PdqIndex()
        if self.entries:
            rows = pack_many(entry.value for entry in self.entries)
            self.pdq.add(rows, np.arange(len(self.entries), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        nearest: dict[int, int] = {}  # entry row -> least distance over the features
        for feature in features:
            if feature.quality is not None and feature.quality < self.min_quality:
                continue  # reported with the features, never matched
            for hit in self.pdq.search(pack(feature.value), self.widest):
                entry = self.entries[hit.entry_id]
                if hit.distance <= self.thresholds[entry.bank]:
                    row = hit.entry_id
                    nearest[row] = min(hit.distance, nearest.get(row, hit.distance))
        ranked = sorted(nearest.items(), key=lambda item: (item[1], item[0]))[:limit]
        return [Match(self.signal, entry=self.entries[row], distance=d) for row, d in ranked]


@dataclass(frozen=True, slots=True)
class ImagePdq:
    name: str = IMAGE_PDQ
    limits: MediaLimits = field(default_factory=MediaLimits)
    kinds: frozenset[Kind] = frozenset({Kind.IMAGE})

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        if content.data:
            found = hash_image(content.data, self.limits, dihedral=True)
            turned = dict.fromkeys(d.pdq for d in found.dihedral if d.pdq != found.pdq)
            return tuple(
                Feature(self.name, value, quality=found.quality) for value in (found.pdq, *turned)
            )
        given = content.hashes.get(self.name)
        if given is None:
            return ()
        return (Feature(self.name, canonical(given.strip())),)

    def index(self, source: EntrySource) -> PdqBankIndex:
        return PdqBankIndex(self.name, source, self.limits.min_quality)


IMAGE_PDQ_SIGNAL = ImagePdq()
