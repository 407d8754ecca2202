"""Decisions on cases: a moderator's on a claimed case, and a block rule's automated one.

A decision names the category and the article relied on, the actions, the facts, and
whether detection and decision were automated. What it leaves behind (actions, statement,
log entries) is recorded by :mod:`trustdesk.cases.outcomes`, the strike and what that
brings by :mod:`trustdesk.cases.strikes`; appeals are :mod:`trustdesk.cases.appeals`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.cases.claims import require_claim
from trustdesk.cases.journal import Batch
from trustdesk.cases.models import AutomatedDecision, Case, CaseStatus, Decision, Statement
from trustdesk.cases.outcomes import (
    ACCOUNT_ACTIONS,
    CONTENT_ACTIONS,
    Docket,
    Outcome,
    Ruling,
    pack_named,
    record,
)
from trustdesk.cases.service import CaseClosed, ResolvedCategory, get_case, resolve_category
from trustdesk.cases.strikes import StrikePolicy, strike
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import ServicePacks
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.text import has_forbidden_characters

MAX_FACTS = 5000
MAX_SUSPENSION = timedelta(days=3650)


class InvalidDecision(InvalidInput):
    code = "invalid_decision"


class DecisionNotFound(NotFound):
    code = "decision_not_found"


@dataclass(frozen=True, slots=True)
class DecisionIn:
    category: str
    actions: tuple[ActionKind, ...]
    facts: str
    suspend_until: datetime | None = None
    automated_detection: bool | None = None  # None: as the case was found


def check_actions(
    packs: Sequence[Pack],
    category: ResolvedCategory,
    actions: Sequence[ActionKind],
    case: Case,
    *,
    until: datetime | None,
    moment: datetime,
) -> tuple[tuple[ActionKind, ...], datetime | None]:
    """The actions a moderator named, each once, if the pack and the case allow them; with
    the suspension's end when one suspends."""
    kinds = tuple(dict.fromkeys(ActionKind(a) for a in actions))
    if ActionKind.RESTORE in kinds:
        raise InvalidDecision("restore comes only from reversing a decision on appeal")
    pack = pack_named(packs, category.pack_id)
    if pack is not None:
        allowed = {a.id for a in pack.actions}
        refused = [str(k) for k in kinds if k not in allowed]
        if refused:
            raise InvalidDecision(f"{pack.id} names no action {', '.join(refused)}")
    if any(k in CONTENT_ACTIONS for k in kinds) and not (case.content_id or case.url):
        raise InvalidDecision("content actions need a case about content (a content id or URL)")
    if any(k in ACCOUNT_ACTIONS for k in kinds) and not case.subject:
        raise InvalidDecision("account actions need a case whose subject is known")
    if ActionKind.SUSPEND_UPDATES in kinds:
        if until is None or until <= moment or until - moment > MAX_SUSPENSION:
            raise InvalidDecision("suspend_updates needs suspend_until: a time within ten years")
        return kinds, until
    return kinds, None


def checked_facts(text: str, what: str = "facts") -> str:
    text = text.strip()
    if not text or len(text) > MAX_FACTS:
        raise InvalidDecision(f"{what} are 1 to {MAX_FACTS} characters")
    if has_forbidden_characters(text, prose=True, allow="\n\t"):
        raise InvalidDecision(f"{what} may not contain control characters")
    return text


def decide(
    session: Session,
    packs_of: ServicePacks,
    case_id: uuid.UUID,
    moderator: UserCaller,
    decision: DecisionIn,
    *,
    policy: StrikePolicy | None = None,
    now: datetime | None = None,
) -> Outcome:
    """A moderator's decision on a case they have claimed, under its service's packs."""
    with read_transaction(session):
        service_id = get_case(session, case_id).service_id
    packs = packs_of(session, service_id)
    moderator.require(Permission.CASES_CASE_DECIDE)
    moment = now or utcnow()
    facts = checked_facts(decision.facts)
    category = resolve_category(packs, decision.category)
    with transaction(session):
        case = get_case(session, case_id, lock=True)
        if case.status is not CaseStatus.OPEN:
            raise CaseClosed(f"case {case_id} is {case.status}; appeals go through /appeals")
        require_claim(case, moderator.user_id, moment)
        kinds, until = check_actions(
            packs, category, decision.actions, case, until=decision.suspend_until, moment=moment
        )
        detected = (
            case.automated_detection
            if decision.automated_detection is None
            else decision.automated_detection
        )
        ruling = Ruling(
            category,
            kinds,
            facts,
            until,
            detected,
            AutomatedDecision.NOT_AUTOMATED,
            moderator.user_id,
            moment,
        )
        return _conclude(Docket(session, packs, case), ruling, policy)


def decide_automatically(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    category: ResolvedCategory,
    facts: str,
    *,
    policy: StrikePolicy | None = None,
    moment: datetime,
    batch: Batch | None = None,
) -> Outcome:
    """A block rule's decision: fully automated, content stopped at once (art. 7); in a
    ``batch`` of follow-ups, logged and flushed with it."""
    kinds: tuple[ActionKind, ...] = (ActionKind.STOP_DISSEMINATION,) if case.content_id else ()
    ruling = Ruling(
        category, kinds, facts[:MAX_FACTS], None, True, AutomatedDecision.FULLY, None, moment
    )
    return _conclude(Docket(session, packs, case, batch), ruling, policy)


def _conclude(docket: Docket, ruling: Ruling, policy: StrikePolicy | None) -> Outcome:
    """Record a first decision on a case, strike the subject, and close the case."""
    outcome = strike(docket, record(docket, ruling), ruling, policy or StrikePolicy())
    case = docket.case
    case.status, case.updated_at = CaseStatus.DECIDED, ruling.moment
    case.claimed_by = case.claim_expires_at = None
    docket.flush()
    return outcome


def get_decision(session: Session, decision_id: uuid.UUID, *, lock: bool = False) -> Decision:
    query = select(Decision).where(Decision.id == decision_id)
    if lock:
        query = query.with_for_update()
    found = session.scalar(query.execution_options(populate_existing=True))
    if found is None:
        raise DecisionNotFound(f"no decision {decision_id}")
    return found


def statements_for(session: Session, service_id: uuid.UUID, subject: str) -> list[Statement]:
    """The statements of reasons (and warnings) sent to ``subject``, newest first."""
    with transaction(session):
        return list(
            session.scalars(
                select(Statement)
                .where(Statement.service_id == service_id, Statement.subject == subject)
                .order_by(Statement.created_at.desc())
                .limit(200)
            )
        )
