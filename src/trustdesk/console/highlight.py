"""Content cut into segments at the findings' offsets, so a template can mark the matches.

Offsets are character offsets into the original text (as screening reports them). Each
segment carries the rules that cover it; overlapping findings split the text at every
boundary. Offsets outside the text are clamped, empty or inverted spans ignored. The
segments' text is plain: the template escapes it like any other value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    label: str  # what matched here (rule and category)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    labels: tuple[str, ...]  # empty: no finding covers this part

    @property
    def marked(self) -> bool:
        return bool(self.labels)


def segments(text: str, spans: Iterable[Span]) -> list[Segment]:
    """``text`` cut at every span boundary; concatenating the segments gives ``text`` back."""
    size = len(text)
    kept = [Span(max(0, min(s.start, size)), max(0, min(s.end, size)), s.label) for s in spans]
    kept = [s for s in kept if s.start < s.end]
    cuts = sorted({0, size, *(s.start for s in kept), *(s.end for s in kept)})
    out: list[Segment] = []
    for start, end in itertools.pairwise(cuts):
        labels = tuple(dict.fromkeys(s.label for s in kept if s.start <= start and end <= s.end))
        if out and out[-1].labels == labels:
            out[-1] = Segment(out[-1].text + text[start:end], labels)
        else:
            out.append(Segment(text[start:end], labels))
    return out
