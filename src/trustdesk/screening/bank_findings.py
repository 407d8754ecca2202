"""Bank findings: what an item's signals match in the banks its service meets, as engine
:class:`~trustdesk.screening.engine.Finding` s, merged with the rule set's.

    found = bank_findings(indexes, service_id, item, limit)   # () on a text without links
    screening = merged(screening, found, limit)               # None stays None if () found

**Which signals.** A text is read by ``url.domain`` (its links, each a finding with the
link's span); an image, video or file by the registered signals of that kind whose hashes
the caller sent (``image.pdq``, ``video.pdq``, ``file.sha256``, ``file.md5``: a finding
with no span, 0-0). Nothing is extracted while no bank is held; a text without a link
pays the link finder's scan (about 1 µs) and no search; a hash is extracted only when the
service meets a bank of its signal.

**What a finding says.** ``rule`` ``bank:<bank name>``; the bank's category, action and
mode; ``signal``; ``entry`` (bank id, entry id, the entry's value) and ``distance`` (0 for
exact hashes and domains). Negative banks suppress per value (see
:mod:`trustdesk.banks.indexes`): a suppressed value yields no finding.

**The verdict rule** is the rule findings' own: an enforced bank's ``block`` blocks and
``hold`` holds, ``flag`` and any shadow bank's match change nothing but are recorded (the
item is stored with them); the item's verdict is the gravest of the rule set's and the
banks' (block > hold > allow). At most ``limit`` findings are kept (each rule's and bank's
first before any other, the gravest first when even those are too many); past it the
screening says ``truncated``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from trustdesk.banks.indexes import BankIndexes, BankMatch
from trustdesk.banks.values import Signal
from trustdesk.screening.engine import Finding, RuleCount, Screening, Verdict
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.service import ContentIn
from trustdesk.signals import registry
from trustdesk.signals.contract import Content, Feature, Kind
from trustdesk.signals.domains import URL_DOMAINS

_RANK = {Verdict.ALLOW: 0, Verdict.HOLD: 1, Verdict.BLOCK: 2}
_BY_RANK = {rank: verdict for verdict, rank in _RANK.items()}
SIGNALS_OF: dict[Kind, tuple[Signal, ...]] = {
    Kind.TEXT: (Signal.URL_DOMAIN,),
    Kind.IMAGE: (Signal.IMAGE_PDQ, Signal.FILE_SHA256, Signal.FILE_MD5),
    Kind.VIDEO: (Signal.VIDEO_PDQ, Signal.FILE_SHA256, Signal.FILE_MD5),
    Kind.FILE: (Signal.FILE_SHA256, Signal.FILE_MD5),
}


def bank_findings(
    indexes: BankIndexes | None, service_id: uuid.UUID, item: ContentIn, limit: int
) -> tuple[Finding, ...]:
    """``item``'s matches in the banks ``service_id`` meets (its own and shared), as
    findings, at most ``limit`` per signal (see the module). A malformed hash raises its
    signal's :class:`~trustdesk.errors.InvalidInput`."""
    if indexes is None or not indexes.banks:
        return ()
    if item.kind == Kind.TEXT:  # the hot path: a text's links (none: about 1 µs, no search)
        links = URL_DOMAINS.extract(Content(Kind.TEXT, text=item.text))
        return _searched(indexes, service_id, Signal.URL_DOMAIN, links, limit) if links else ()
    kind = Kind(item.kind)
    content = Content(kind, hashes=item.hashes)
    found: list[Finding] = []
    for signal in SIGNALS_OF[kind]:
        if signal.value not in item.hashes or not indexes.visible(service_id, signal):
            continue
        features = registry.get(signal.value).extract(content)
        found.extend(_searched(indexes, service_id, signal, features, limit))
    return tuple(found)


def _searched(
    indexes: BankIndexes,
    service_id: uuid.UUID,
    signal: Signal,
    features: Sequence[Feature],
    limit: int,
) -> tuple[Finding, ...]:
    if not features or not indexes.visible(service_id, signal):
        return ()
    if signal is Signal.VIDEO_PDQ:  # the frames together are one video
        return _findings(indexes.search(service_id, signal, features, limit).matches)
    found: list[Finding] = []
    for feature in features:  # one at a time: each finding keeps its value's span
        found.extend(
            _findings(indexes.search(service_id, signal, [feature], limit).matches, feature)
        )
    return tuple(found)


def _findings(matches: Sequence[BankMatch], feature: Feature | None = None) -> tuple[Finding, ...]:
    span = None if feature is None else feature.span
    return tuple(
        Finding(
            f"bank:{m.bank.name}",
            m.bank.category,
            Action(m.bank.action.value),
            Mode(m.bank.mode.value),
            0 if span is None else span.start,
            0 if span is None else span.end,
            signal=m.match.signal,
            entry=m.match.entry,
            distance=m.match.distance,
        )
        for m in matches
    )


def verdict_of(finding: Finding) -> Verdict:
    """What one finding does on its own: enforced block or hold, else nothing."""
    if finding.mode is not Mode.ENFORCE or finding.action is Action.FLAG:
        return Verdict.ALLOW
    return Verdict(finding.action.value)


def merged(screening: Screening | None, found: Sequence[Finding], limit: int) -> Screening | None:
    """``screening`` (None: no active rule set) with the bank findings ``found``: the
    gravest verdict of both, every bank counted, the findings cut to ``limit``."""
    if not found:
        return screening
    base = screening or Screening(Verdict.ALLOW, (), "")
    rank = max(_RANK[base.verdict], *(_RANK[verdict_of(f)] for f in found))
    counted = Counter((f.rule, f.category, f.action, f.mode) for f in found)
    counts = (*base.rule_counts, *(RuleCount(*rule, n) for rule, n in counted.items()))
    every = (*base.findings, *found)
    kept = _cut(every, limit)
    return Screening(
        _BY_RANK[rank], kept, base.ruleset, counts, base.truncated or len(kept) < len(every)
    )


def _cut(findings: tuple[Finding, ...], limit: int) -> tuple[Finding, ...]:
    """At most ``limit``: each rule's first (the gravest rules' first if even those are too
    many), then the others in order."""
    if len(findings) <= limit:
        return findings
    first: dict[str, int] = {}
    for at, finding in enumerate(findings):
        first.setdefault(finding.rule, at)
    gravest = sorted(first.values(), key=lambda at: (-_RANK[verdict_of(findings[at])], at))
    chosen = set(gravest[:limit])
    for at in range(len(findings)):
        if len(chosen) >= limit:
            break
        chosen.add(at)
    return tuple(findings[at] for at in sorted(chosen))
