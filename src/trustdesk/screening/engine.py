"""The compiled screener: normalization, matching, offsets and the verdict, for one rule set.

A :class:`Screener` is immutable and built once per rule-set version; screening a message
touches no shared mutable state, so a server swaps versions by swapping the reference while
requests in flight finish on the one they started with.

The common case (no hit) costs one normalization and one pass of each matcher. Offsets back
into the original text are computed only for messages with hits.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from trustdesk.screening.matchers import Hit, LiteralMatcher, PatternMatcher
from trustdesk.screening.normalize import Normalizer, Steps
from trustdesk.screening.sources import RuleSetSource


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


_RANK = {Verdict.ALLOW: 0, Verdict.HOLD: 1, Verdict.BLOCK: 2}


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
        self._rules = tuple(rules)
        self._normalizer = normalizer
        self._literals = literals
        self._exceptions = exceptions
        self._patterns = patterns
        self._owners = tuple(owners)  # matcher id -> rule index (terms, then patterns)
        self._exception_owners = tuple(exception_owners)

    @property
    def rule_count(self) -> int:
        return len(self._rules)

    def screen(self, text: str) -> Screening:
        normalized = self._normalizer.normalize(text)
        hits = self._literals.find(normalized) + self._patterns.find(normalized)
        return self._judge(text, normalized, hits)

    def screen_many(self, texts: Sequence[str]) -> list[Screening]:
        normalized = self._normalizer.normalize_many(texts)
        literal_hits = self._literals.find_many(normalized)
        return [
            self._judge(text, norm, hits + self._patterns.find(norm))
            for text, norm, hits in zip(texts, normalized, literal_hits, strict=True)
        ]

    def _judge(self, text: str, normalized: str, hits: list[Hit]) -> Screening:
        if not hits:
            return Screening(Verdict.ALLOW, (), self.version)
        excepted = self._excepted(normalized)
        mapped = self._normalizer.map(text)
        findings: dict[tuple[int, int, int], Finding] = {}
        for hit in hits:
            owner = self._owners[hit.pattern]
            if any(s <= hit.start and hit.end <= e for s, e in excepted.get(owner, ())):
                continue
            start, end = mapped.span(hit.start, hit.end)
            rule = self._rules[owner]
            findings.setdefault(
                (start, end, owner),
                Finding(rule.id, rule.category, rule.action, rule.mode, start, end),
            )
        ordered = tuple(findings[key] for key in sorted(findings))
        verdict = max(
            (self._rules[key[2]].verdict for key in findings),
            key=_RANK.__getitem__,
            default=Verdict.ALLOW,
        )
        return Screening(verdict, ordered, self.version)

    def _excepted(self, normalized: str) -> dict[int, list[tuple[int, int]]]:
        spans: dict[int, list[tuple[int, int]]] = {}
        for hit in self._exceptions.find(normalized):
            spans.setdefault(self._exception_owners[hit.pattern], []).append((hit.start, hit.end))
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
