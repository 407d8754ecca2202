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

A message can match a term hundreds of thousands of times (one character repeated), so the
work per message is bounded: every match is counted per rule (the verdict and the counts
take them all), but at most ``limit`` findings are kept, each matched rule's first one before
any other, the graver rules' first when even those are too many.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple, Protocol

from trustdesk.screening.matchers import LiteralMatcher, PatternMatcher
from trustdesk.screening.normalize import Normalizer, Steps
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.sources import RuleSetSource
from trustdesk.signals.contract import TEXT_TERMS, Entry


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


_RANK = {Verdict.ALLOW: 0, Verdict.HOLD: 1, Verdict.BLOCK: 2}
_VERDICTS = tuple(sorted(_RANK, key=_RANK.__getitem__))


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule matching: a span of the original text, or a bank ``entry`` at ``distance``."""

    rule: str
    category: str
    action: Action
    mode: Mode
    start: int
    end: int
    signal: str = TEXT_TERMS  # which signal matched (trustdesk.signals.registry)
    entry: Entry | None = None
    distance: int = 0


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How often one rule matched one message: every match, kept as a finding or not."""

    rule: str
    category: str
    action: Action
    mode: Mode
    matches: int


class Screening(NamedTuple):
    """The answer for one message: verdict, the findings behind it, and the rule-set version.

    Immutable: a named tuple, which the hit path builds (one per message) at about half the
    cost of a frozen dataclass of five fields.

    ``rule_counts``: every rule that matched, in rule-set order, with its number of matches
    (the verdict comes from all of them); ``truncated``: ``findings`` holds fewer than all
    the matches (the cap on findings per message was reached).
    """

    verdict: Verdict
    findings: tuple[Finding, ...]
    ruleset: str
    rule_counts: tuple[RuleCount, ...] = ()
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class _RuleInfo:
    id: str
    category: str
    action: Action
    mode: Mode

    @property
    def verdict(self) -> Verdict:
        if self.mode is not Mode.ENFORCE or self.action is Action.FLAG:
            return Verdict.ALLOW
        return Verdict(self.action)


def steps_of(source: RuleSetSource) -> Steps:
    """The normalization steps a rule set asks for."""
    chosen = source.normalization
    return Steps(**{f.name: bool(getattr(chosen, f.name)) for f in fields(Steps)})


class Texts(Protocol):
    """Messages by index (a list of str, or texts decoded only when asked)."""

    def __getitem__(self, index: int, /) -> str: ...


_BATCH_BYTES = 1 << 20  # screen_many scans this much normalized text at once
MAX_FINDINGS = 100  # findings kept per message unless the caller says otherwise
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
        # term index -> the rules owning it (a term in two rules, or twice in one, is one
        # term); the usual one-rule tuples are shared, so a table of 10^6 terms stays small
        alone = [(index,) for index in range(len(rules))]
        self._term_owners = [
            alone[self._owners[ids[0]]]
            if len(ids) == 1
            else tuple(sorted({self._owners[term_id] for term_id in ids}))
            for ids in literals.terms.ids
        ]
        # a rule's verdict, and its count when it matched once: the usual hit builds neither
        self._verdict_of = tuple(_VERDICTS[rank] for rank in self._ranks)
        self._once = tuple(RuleCount(*rule, 1) for rule in self._rules)
        # rules with patterns: a span found twice (two patterns, a pattern and a term) is one
        # match, so their spans are remembered
        self._mixed = frozenset(self._owners[len(self._owners) - len(patterns) :])
        # The hot path, bound once: normalize to UTF-8, scan, and (only on a hit) locate.
        self._utf8 = normalizer.utf8
        self._scan = literals.scan
        self._locate = normalizer.locate
        self._has_patterns = len(patterns) > 0
        self._allowed = Screening(Verdict.ALLOW, (), version)  # immutable: one for all

    @property
    def allowed(self) -> Screening:
        """The one answer for a message that matched nothing (shared: compare with ``is``)."""
        return self._allowed

    @property
    def normalizer(self) -> Normalizer:
        return self._normalizer

    @property
    def rule_count(self) -> int:
        return len(self._rules)

    def screen(self, text: str, limit: int = MAX_FINDINGS) -> Screening:
        """The verdict on ``text``, with at most ``limit`` findings (every match counted)."""
        data = self._utf8(text)
        found = self._scan(data)
        if found or self._has_patterns:
            return self._judge((text,), 0, data, found, base=0, limit=limit)
        return self._allowed

    def screen_many(self, texts: Sequence[str], limit: int = MAX_FINDINGS) -> list[Screening]:
        """``[screen(text, limit) for text in texts]``: normalized into one buffer and scanned
        once per megabyte, so a message without a hit costs no Python call of its own."""
        results: list[Screening] = []
        start = 0
        while start < len(texts):
            data, offsets, stop = self._normalizer.utf8_batch(texts, start, _BATCH_BYTES)
            results += self.screen_normalized(data, offsets, texts[start:stop], limit)
            start = stop
        return results

    def screen_normalized(
        self, data: bytes, offsets: Sequence[int], texts: Texts, limit: int = MAX_FINDINGS
    ) -> list[Screening]:
        """The screenings of messages already normalized (as ``Normalizer.utf8_batch`` or
        ``json_lines`` writes them: ``data``, where each begins in ``offsets``), one
        hyperscan pass; ``texts[i]`` is message i's original text, asked only on a hit."""
        results = [self._allowed] * (len(offsets) - 1)
        found = self._scan(data)
        hits: dict[int, list[tuple[int, int]]] = {}
        for hit in found:
            hits.setdefault(bisect_right(offsets, hit[1]) - 1, []).append(hit)
        owned = range(len(results)) if self._has_patterns else sorted(hits)
        for at in owned:
            begin = offsets[at]
            message = data[begin : offsets[at + 1] - 1]
            results[at] = self._judge(texts, at, message, hits.get(at, []), base=begin, limit=limit)
        return results

    def _judge(
        self,
        texts: Texts,
        at: int,
        data: bytes,
        found: list[tuple[int, int]],
        *,
        base: int,
        limit: int,
    ) -> Screening:
        """The answer for ``texts[at]`` (normalized: ``data``), whose term matches are
        ``found`` (byte ends counted from ``base``): every match counted per rule, at most
        ``limit`` kept (plus each rule's first, which :meth:`_answer` chooses among)."""
        counts: dict[int, int] = {}  # rule index -> matches
        keys: list[_Key] = []
        seen: set[_Key] = set()  # spans of rules with patterns: each counted once
        text = ""
        if found:
            text = texts[at]
            terms = self._terms
            located = self._locate(text, found, terms.sizes, terms.bounds, base)
            excepted = self._excepted(text, data) if located and self._exception_owners else {}
            term_owners = self._term_owners
            if len(located) == 1 and not excepted and not self._has_patterns:
                start, end, index, _, _ = located[0]
                owners = term_owners[index]
                if len(owners) == 1:  # the usual hit: one term of one rule
                    owner = owners[0]
                    finding = Finding(*self._rules[owner], start, end)
                    counted = (self._once[owner],)
                    return Screening(self._verdict_of[owner], (finding,), self.version, counted)
            mixed = self._mixed
            for start, end, index, folded_start, folded_end in located:
                for owner in term_owners[index]:
                    if excepted and any(
                        s <= folded_start and folded_end <= e for s, e in excepted.get(owner, ())
                    ):
                        continue
                    if mixed and owner in mixed:
                        if (start, end, owner) in seen:
                            continue
                        seen.add((start, end, owner))
                    matched = counts.get(owner, 0)
                    counts[owner] = matched + 1
                    if not matched or len(keys) < limit:
                        keys.append((start, end, owner))
        if self._has_patterns:
            self._pattern_keys(texts, at, data, keys=keys, counts=counts, seen=seen, limit=limit)
        if not counts:
            return self._allowed
        return self._answer(keys, counts, limit)

    def _answer(self, keys: list[_Key], counts: dict[int, int], limit: int) -> Screening:
        """The verdict from every rule that matched; the findings: ``keys`` cut to ``limit``,
        keeping each rule's first match (the gravest rules' first if even those are many)."""
        rules, ranks = self._rules, self._ranks
        total = sum(counts.values())
        once = self._once
        per_rule = tuple(
            once[owner] if n == 1 else RuleCount(*rules[owner], n)
            for owner, n in sorted(counts.items())
        )
        verdict = _VERDICTS[max([ranks[owner] for owner in counts])]
        distinct = sorted(set(keys))
        if len(distinct) > limit:
            first: dict[int, _Key] = {}
            for key in distinct:
                first.setdefault(key[2], key)
            chosen = set(sorted(first.values(), key=lambda k: (-ranks[k[2]], k))[:limit])
            for key in distinct:
                if len(chosen) >= limit:
                    break
                chosen.add(key)
            distinct = sorted(chosen)
        ordered = tuple([Finding(*rules[owner], start, end) for start, end, owner in distinct])
        return Screening(verdict, ordered, self.version, per_rule, total > len(ordered))

    def _pattern_keys(
        self,
        texts: Texts,
        at: int,
        data: bytes,
        *,
        keys: list[_Key],
        counts: dict[int, int],
        seen: set[_Key],
        limit: int,
    ) -> None:
        hits = self._patterns.find(data.decode("utf-8", "surrogatepass"))
        if hits:
            mapped = self._normalizer.map(texts[at])
            owners, mixed = self._owners, self._mixed
            for hit in hits:
                owner = owners[hit.pattern]
                start, end = mapped.span(hit.start, hit.end)
                if owner in mixed:
                    if (start, end, owner) in seen:
                        continue
                    seen.add((start, end, owner))
                matched = counts.get(owner, 0)
                counts[owner] = matched + 1
                if not matched or len(keys) < limit:
                    keys.append((start, end, owner))

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
        rules.append(_RuleInfo(rule.id, rule.category, rule.action, rule.mode))
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
