"""Regular expressions in RE2 syntax over normalized text: linear time, bounded memory.

RE2 has no backreferences or lookaround (it refuses them, and we pass its message on), so
no pattern takes more than linear time, and each compiles under a memory budget
(``max_mem``), so a huge pattern is refused rather than built. An ``RE2::Set`` of all the
patterns is a prefilter: one pass says which patterns match at all, and only those run
``finditer``. Hits are every non-overlapping, non-empty, leftmost-first match of each
pattern, with character offsets (the ``re2`` module converts for ``str`` input; lone
surrogates, which UTF-8 cannot carry, are matched as U+FFFD). Patterns get no automatic word
boundaries: authors write ``\\b`` themselves.

Measured on 10 MB of mixed Chinese/English text, one core: the set prefilter plus
``finditer`` costs 0.04 s for patterns like ``加\\s*[微薇]\\s*信\\s*\\d{6,}``; ``(a+)+$``
over ten million ``a`` then ``b``, 0.02 s; the slowest seen, ``的.{0,20}一`` (a frequent
character, then a wide gap), 8.6 s, 6.5 s of it in the set (its DFA meets many new states,
and unlike a single pattern's it has no NFA to fall back to). Bounded and linear, not fast:
hostile patterns belong in review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from trustdesk.errors import InvalidInput
from trustdesk.screening.literals import Hit

# RE2 sizes a pattern's program and its DFA caches from one budget. Patterns are checked
# under RE2's default (8 MB: "pattern too large" past it, so ``\pL{1000}`` is refused) and run
# under a larger one: with 8 MB, ``.{1000}x`` over 10 MB of text exhausts the DFA and falls
# back to the NFA (86 s); with 32 MB the DFA holds (0.2 s). Caches grow only as text needs.
CHECK_MAX_MEM = 8 << 20
RUN_MAX_MEM = 32 << 20
SET_MAX_MEM = 64 << 20  # per prefilter set; a set too large is split in halves
_SURROGATES = re.compile("[\ud800-\udfff]")


class PatternError(InvalidInput):
    """A pattern RE2 refuses: bad syntax, an unsupported feature, or too large."""

    code = "invalid_pattern"
    title = "Invalid pattern"

    def __init__(self, pattern_id: int, reason: str) -> None:
        self.pattern_id = pattern_id
        self.reason = reason
        super().__init__(f"pattern {pattern_id}: {reason}")


def _options(max_mem: int) -> Any:
    options = re2.Options()
    options.max_mem = max_mem
    options.log_errors = False
    return options


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


Compiled = tuple[int, Any]  # (pattern id, re2 regexp)
Prefilter = tuple[Any, list[Compiled]]  # (re2 set, the patterns it holds, by set index)


def _prefilters(compiled: Sequence[Compiled]) -> list[Prefilter]:
    """RE2 sets over ``compiled`` (id, regexp): one if it fits the budget, else halves."""
    prefilter = re2.Set.SearchSet(_options(SET_MAX_MEM))
    try:
        for _, regexp in compiled:
            prefilter.Add(regexp.pattern)
        prefilter.Compile()
    except re2.error as exc:
        if len(compiled) == 1:
            raise PatternError(compiled[0][0], _reason(exc)) from exc
        half = len(compiled) // 2
        return _prefilters(compiled[:half]) + _prefilters(compiled[half:])
    return [(prefilter, list(compiled))]


class PatternMatcher:
    """Many RE2 patterns at once, each hit carrying the id the caller gave its pattern."""

    def __init__(self, prefilters: list[Prefilter]) -> None:
        self._prefilters = prefilters

    def __len__(self) -> int:
        """The number of patterns."""
        return sum(len(compiled) for _, compiled in self._prefilters)

    @classmethod
    def build(cls, patterns: Sequence[tuple[int, str]]) -> PatternMatcher:
        """Compile ``patterns`` (id, RE2 source); raises :class:`PatternError` naming the id."""
        compiled: list[Compiled] = []
        for pattern_id, source in patterns:
            try:
                re2.compile(source, _options(CHECK_MAX_MEM))
                compiled.append((pattern_id, re2.compile(source, _options(RUN_MAX_MEM))))
            except re2.error as exc:
                raise PatternError(pattern_id, _reason(exc)) from exc
            except UnicodeEncodeError as exc:
                raise PatternError(pattern_id, "a lone surrogate is not valid UTF-8") from exc
        return cls(_prefilters(compiled) if compiled else [])

    def find(self, text: str) -> list[Hit]:
        if not self._prefilters:
            return []
        try:
            found = sorted(self._spans(text))
        except UnicodeEncodeError:  # lone surrogates: one U+FFFD each keeps the char offsets
            found = sorted(self._spans(_SURROGATES.sub("\ufffd", text)))
        return [Hit(pattern_id, start, end) for start, end, pattern_id in found]

    def _spans(self, text: str) -> Iterator[tuple[int, int, int]]:
        for prefilter, compiled in self._prefilters:
            for index in prefilter.Match(text) or ():
                pattern_id, regexp = compiled[index]
                for match in regexp.finditer(text):
                    start, end = match.span()
                    if start != end:
                        yield start, end, pattern_id
