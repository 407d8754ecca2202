"""``text.terms``: a rule set's terms and patterns in a text.

Its index is the compiled rule set (:class:`trustdesk.screening.engine.Screener`, which
this module does not import: it only needs what :class:`RuleSet` says), built and cached
per version by screening. The feature is the text as sent: the rule set names its own
normalization steps, so folding belongs to the index, which does it in one compiled pass
with offsets back into the original text (``screening/normalize.py``).

Screening's door calls the rule set directly (its ``screen`` answers a shared object for a
clean text, no Python object per message); :meth:`TermsIndex.search` is the same answer
in the contract's terms, one :class:`~trustdesk.signals.contract.Match` per finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trustdesk.signals.contract import (
    TEXT_TERMS,
    Content,
    Feature,
    Kind,
    Match,
    Span,
    require_kind,
)


class Located(Protocol):
    """A rule matching a span of the text (``screening.engine.Finding``)."""

    @property
    def rule(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class Judged(Protocol):
    """A rule set's answer for one text (``screening.engine.Screening``)."""

    @property
    def findings(self) -> Sequence[Located]: ...


class RuleSet(Protocol):
    """A compiled rule set (``screening.engine.Screener``): at most ``limit`` findings."""

    def screen(self, text: str, limit: int) -> Judged: ...


@dataclass(frozen=True, slots=True)
class TermsIndex:
    rules: RuleSet

    def search(self, features: Sequence[Feature], limit: int) -> Sequence[Match]:
        matches: list[Match] = []
        for feature in features:
            if len(matches) >= limit:
                break
            found = self.rules.screen(feature.value, limit - len(matches)).findings
            matches += [Match(TEXT_TERMS, Span(f.start, f.end), rule=f.rule) for f in found]
        return matches[:limit]


@dataclass(frozen=True, slots=True)
class TextTerms:
    name: str = TEXT_TERMS
    kinds: frozenset[Kind] = frozenset({Kind.TEXT})

    def extract(self, content: Content) -> Sequence[Feature]:
        require_kind(self, content)
        return (Feature(self.name, content.text),)

    def index(self, source: RuleSet) -> TermsIndex:
        return TermsIndex(source)


TERMS = TextTerms()
