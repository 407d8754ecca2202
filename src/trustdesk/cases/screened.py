"""Screening verdicts into cases: held content waits for review, blocked content is decided
at once by an automated decision (art. 7: act immediately), both in the case of its target.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from trustdesk.cases.decisions import StrikePolicy, decide_automatically
from trustdesk.cases.service import (
    Opening,
    ResolvedCategory,
    UnknownCategory,
    attach_item,
    open_or_join,
    resolve_category,
)
from trustdesk.db.base import utcnow
from trustdesk.policy.schema import Pack
from trustdesk.screening.engine import Finding, Verdict
from trustdesk.screening.service import Screened

_REVIEWED = frozenset({"hold", "block", "flag"})


def _enforced(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.mode == "enforce" and f.action in _REVIEWED]


def _facts(findings: Sequence[Finding], ruleset: str) -> str:
    spans = "; ".join(f"rule {f.rule} ({f.category}) at [{f.start}, {f.end})" for f in findings)
    return f"Automated screening with rule set {ruleset[:16]} matched: {spans}."


_SEVERITY = {"critical": 4, "high": 3, "medium": 2, "low": 1}


def _gravest(resolved: Sequence[tuple[ResolvedCategory, Finding]]) -> ResolvedCategory:
    return max(resolved, key=lambda pair: _SEVERITY.get(str(pair[0].severity), 0))[0]


def on_screened(
    session: Session,
    packs: Sequence[Pack],
    screened: Screened,
    *,
    policy: StrikePolicy | None = None,
) -> None:
    """Open or join the case about the screened item; decide it at once if it was blocked."""
    findings = _enforced(screened.screening.findings)
    if not findings:
        return  # shadow hits only: kept for tuning rules, not for review
    resolved: list[tuple[ResolvedCategory, Finding]] = []
    for finding in findings:
        try:
            resolved.append((resolve_category(packs, finding.category), finding))
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
            _facts([f for _, f in blocking], screened.screening.ruleset),
            policy=policy,
            moment=moment,
        )
