"""The compiled screener: normalization, matching, offsets and the verdict, for one rule set.

A :class:`Screener` is immutable and built once per rule-set version; screening a message
touches no shared mutable state, so a server swaps versions by swapping the reference while
requests in flight finish on the one they started with.

The common case (no hit) costs one normalization straight to UTF-8 (compiled, see
``normalize``), one hyperscan scan of those bytes, and a shared ``Screening``; patterns, if
the rule set has any, add one RE2 set pass. Only a message with a match pays for offsets:
one call (``Normalizer.locate``, in C) turns hyperscan's byte ends into spans of the
original text with word boundaries checked, and findings are plain tuples until the answer
is built. ``screen_many`` scans a megabyte of normalized text at a time.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from trustdesk.screening.matchers import LiteralMatcher, PatternMatcher
from trustdesk.screening.normalize import Normalizer, Steps
from trustdesk.screening.sources import RuleSetSource


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


_RANK = {Verdict.ALLOW: 0, Verdict.HOLD: 1, Verdict.BLOCK: 2}
_VERDICTS = tuple(sorted(_RANK, key=_RANK.__getitem__))


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule matching one span of the original text."""

    rule: str
    category: str
    action: str
    mode: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Screening:
    """The answer for one message: verdict, the findings behind it, and the rule-set version."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    ruleset: str


@dataclass(frozen=True, slots=True)
class _RuleInfo:
    id: str
    category: str
    action: str
    mode: str

    @property
    def verdict(self) -> Verdict:
        if self.mode != "enforce" or self.action == "flag":
            return Verdict.ALLOW
        return Verdict(self.action)


def steps_of(source: RuleSetSource) -> Steps:
    """The normalization steps a rule set asks for."""
    chosen = source.normalization
    return Steps(**{f.name: bool(getattr(chosen, f.name)) for f in fields(Steps)})


_BATCH_BYTES = 1 << 20  # screen_many scans this much normalized text at once
_Key = tuple[int, int, int]  # a finding inside the engine: (start, end, rule index)


class Screener:
    """Everything needed to screen text against one rule-set version."""

    def __init__(
        self,
        *,
        version: str,
        rules: Sequence[_RuleInfo],
        normalizer: Normalizer,
        literals: LiteralMatcher,
        exceptions: LiteralMatcher,
        patterns: PatternMatcher,
        owners: Sequence[int],
        exception_owners: Sequence[int],
    ) -> None:
        self.version = version
        self._rules = tuple((r.id, r.category, r.action, r.mode) for r in rules)
        self._ranks = tuple(_RANK[rule.verdict] for rule in rules)
        self._normalizer = normalizer
        self._exceptions = exceptions
        self._patterns = patterns
        self._owners = tuple(owners)  # matcher id -> rule index (terms, then patterns)
        self._exception_owners = tuple(exception_owners)
        self._terms = literals.terms
        self._ids = literals.terms.ids  # term index -> term ids
        # The hot path, bound once: normalize to UTF-8, scan, and (only on a hit) locate.
        self._utf8 = normalizer.utf8
        self._scan = literals.scan
        self._locate = normalizer.locate
        self._has_patterns = len(patterns) > 0
        self._allowed = Screening(Verdict.ALLOW, (), version)  # immutable: one for all

    @property
    def rule_count(self) -> int:
        return len(self._rules)

    def screen(self, text: str) -> Screening:
        data = self._utf8(text)
        found = self._scan(data)
        if found or self._has_patterns:
            return self._judge(text, data, found, 0)
        return self._allowed

    def screen_many(self, texts: Sequence[str]) -> list[Screening]:
        """``[screen(text) for text in texts]``: normalized into one buffer and scanned once
        per megabyte, so a message without a hit costs no Python call of its own."""
        results = [self._allowed] * len(texts)
        start = 0
        while start < len(texts):
            data, offsets, stop = self._normalizer.utf8_batch(texts, start, _BATCH_BYTES)
            found = self._scan(data)
            hits: dict[int, list[tuple[int, int]]] = {}
            for hit in found:
                hits.setdefault(bisect_right(offsets, hit[1]) - 1, []).append(hit)
            owned = range(stop - start) if self._has_patterns else sorted(hits)
            for at in owned:
                begin = offsets[at]
                message = data[begin : offsets[at + 1] - 1]
                results[start + at] = self._judge(
                    texts[start + at], message, hits.get(at, []), begin
                )
            start = stop
        return results

    def _judge(self, text: str, data: bytes, found: list[tuple[int, int]], base: int) -> Screening:
        """The answer for ``text`` (normalized: ``data``), whose term matches are ``found``
        (byte ends counted from ``base``)."""
        keys: list[_Key] = []
        if found:
            terms = self._terms
            located = self._locate(text, found, terms.sizes, terms.bounds, base)
            excepted = self._excepted(text, data) if located and self._exception_owners else {}
            ids, owners = self._ids, self._owners
            for start, end, index, folded_start, folded_end in located:
                for term_id in ids[index]:
                    owner = owners[term_id]
                    if excepted and any(
                        s <= folded_start and folded_end <= e for s, e in excepted.get(owner, ())
                    ):
                        continue
                    keys.append((start, end, owner))
        if self._has_patterns:
            self._pattern_keys(text, data, keys)
        if not keys:
            return self._allowed
        rules = self._rules
        if len(keys) == 1:  # the usual hit: one term of one rule
            start, end, owner = keys[0]
            finding = Finding(*rules[owner], start, end)
            return Screening(_VERDICTS[self._ranks[owner]], (finding,), self.version)
        distinct = sorted(set(keys))
        ordered = tuple([Finding(*rules[owner], start, end) for start, end, owner in distinct])
        rank = max([self._ranks[owner] for _, _, owner in distinct])
        return Screening(_VERDICTS[rank], ordered, self.version)

    def _pattern_keys(self, text: str, data: bytes, keys: list[_Key]) -> None:
        hits = self._patterns.find(data.decode("utf-8", "surrogatepass"))
        if hits:
            mapped = self._normalizer.map(text)
            for hit in hits:
                keys.append((*mapped.span(hit.start, hit.end), self._owners[hit.pattern]))

    def _excepted(self, text: str, data: bytes) -> dict[int, list[tuple[int, int]]]:
        """Rule index -> the spans of its except terms in the normalized text."""
        spans: dict[int, list[tuple[int, int]]] = {}
        found = self._exceptions.scan(data)
        if found:
            terms, owners = self._exceptions.terms, self._exception_owners
            for _, _, index, start, end in self._locate(text, found, terms.sizes, terms.bounds):
                for term_id in terms.ids[index]:
                    spans.setdefault(owners[term_id], []).append((start, end))
        return spans


@dataclass(frozen=True, slots=True)
class CompiledParts:
    """The expensive parts of a screener, which a cache can store by version."""

    literals: bytes
    exceptions: bytes


def _tables(
    source: RuleSetSource, normalizer: Normalizer
) -> tuple[
    list[_RuleInfo],
    list[tuple[int, str]],
    list[int],
    list[tuple[int, str]],
    list[int],
    list[tuple[int, str]],
]:
    rules: list[_RuleInfo] = []
    terms: list[tuple[int, str]] = []
    owners: list[int] = []
    exceptions: list[tuple[int, str]] = []
    exception_owners: list[int] = []
    patterns: list[tuple[int, str]] = []
    pattern_owners: list[int] = []
    for index, rule in enumerate(source.rules):
        rules.append(_RuleInfo(rule.id, rule.category, str(rule.action), str(rule.mode)))
        for term in _normalized(normalizer, rule.terms):
            terms.append((len(owners), term))
            owners.append(index)
        for term in _normalized(normalizer, rule.except_terms):
            exceptions.append((len(exception_owners), term))
            exception_owners.append(index)
        for pattern in rule.patterns:
            patterns.append((len(pattern_owners), pattern))
            pattern_owners.append(index)
    shift = len(owners)
    patterns = [(shift + pid, pattern) for pid, pattern in patterns]
    owners.extend(pattern_owners)
    return rules, terms, owners, exceptions, exception_owners, patterns


def _normalized(normalizer: Normalizer, terms: Iterable[str]) -> list[str]:
    return [n for n in normalizer.normalize_many(list(terms)) if n.strip()]


def compile_screener(
    source: RuleSetSource, cached: CompiledParts | None = None
) -> tuple[Screener, CompiledParts]:
    """Build the screener for ``source``; ``cached`` parts (same version) skip recompiling."""
    normalizer = Normalizer(steps_of(source))
    rules, terms, owners, exceptions, exception_owners, patterns = _tables(source, normalizer)
    if cached is not None:
        literals = LiteralMatcher.loads(cached.literals, terms)
        excepts = LiteralMatcher.loads(cached.exceptions, exceptions)
    else:
        literals = LiteralMatcher.build(terms)
        excepts = LiteralMatcher.build(exceptions)
    screener = Screener(
        version=source.version,
        rules=rules,
        normalizer=normalizer,
        literals=literals,
        exceptions=excepts,
        patterns=PatternMatcher.build(patterns),
        owners=owners,
        exception_owners=exception_owners,
    )
    return screener, CompiledParts(literals.dumps(), excepts.dumps())
