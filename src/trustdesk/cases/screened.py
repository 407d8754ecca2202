"""Screening verdicts into cases: held content waits for review, blocked content is decided
at once by an automated decision (art. 7: act immediately), both in the case of its target.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from trustdesk.cases.decisions import decide_automatically
from trustdesk.cases.service import (
    Opening,
    ResolvedCategory,
    UnknownCategory,
    attach_item,
    open_or_join,
    resolve_category,
)
from trustdesk.cases.strikes import StrikePolicy
from trustdesk.db.base import utcnow
from trustdesk.policy.schema import Pack
from trustdesk.screening.engine import Finding, RuleCount, Verdict
from trustdesk.screening.service import Screened, rule_counts_of

_REVIEWED = frozenset({"hold", "block", "flag"})


def _enforced(counts: Sequence[RuleCount]) -> list[RuleCount]:
    return [c for c in counts if c.mode == "enforce" and c.action in _REVIEWED]


def _facts(counts: Sequence[RuleCount], findings: Sequence[Finding], ruleset: str) -> str:
    """Each rule's first match, and how often it matched (the findings stop at a cap)."""
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.rule, finding)
    parts = []
    for counted in counts:
        where = first.get(counted.rule)
        span = f" at [{where.start}, {where.end})" if where is not None else ""
        more = f", {counted.matches} matches in all" if counted.matches > 1 else ""
        parts.append(f"rule {counted.rule} ({counted.category}){span}{more}")
    return f"Automated screening with rule set {ruleset[:16]} matched: {'; '.join(parts)}."


_SEVERITY = {"critical": 4, "high": 3, "medium": 2, "low": 1}


def _gravest(resolved: Sequence[tuple[ResolvedCategory, RuleCount]]) -> ResolvedCategory:
    return max(resolved, key=lambda pair: _SEVERITY.get(str(pair[0].severity), 0))[0]


def on_screened(
    session: Session,
    packs: Sequence[Pack],
    screened: Screened,
    *,
    policy: StrikePolicy | None = None,
) -> None:
    """Open or join the case about the screened item; decide it at once if it was blocked.

    The rules are read from the screening's counts, which name every rule that matched even
    when its findings were cut at the cap: the category and the decision do not depend on it.
    """
    counts = _enforced(rule_counts_of(screened.screening))
    if not counts:
        return  # shadow hits only: kept for tuning rules, not for review
    resolved: list[tuple[ResolvedCategory, RuleCount]] = []
    for counted in counts:
        try:
            resolved.append((resolve_category(packs, counted.category), counted))
        except UnknownCategory:
            continue  # a rule set deployed before the service dropped a pack
    if not resolved:
        return
    category = _gravest(resolved)
    moment = utcnow()
    language = screened.context.get("language")
    case = open_or_join(
        session,
        Opening(
            service_id=screened.service_id,
            content_id=screened.item.content_id,
            url=None,
            subject=screened.item.subject,
            category=category,
            trusted=False,
            automated=True,
            language=language if isinstance(language, str) else None,
            at=moment,
        ),
    )
    attach_item(session, case, screened.item_id, moment)
    blocking = [(c, f) for c, f in resolved if f.action == "block"]
    if screened.screening.verdict is Verdict.BLOCK and blocking:
        decide_automatically(
            session,
            packs,
            case,
            _gravest(blocking),
            _facts(
                [c for _, c in blocking], screened.screening.findings, screened.screening.ruleset
            ),
            policy=policy,
            moment=moment,
        )
