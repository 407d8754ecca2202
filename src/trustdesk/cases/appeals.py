"""Appeals against decisions (DSA art. 20), and their decision by a senior moderator.

The affected subject (through its service) appeals a restriction; a notifier (with the
notice's token) appeals a decision not to act; either within the packs' window, one
pending appeal per decision. A senior moderator who did not take the decision upholds or
reverses it: a reversal restores what was restricted (or, on a notifier's appeal, acts),
withdraws the strikes and gets its own statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.cases import notices
from trustdesk.cases.decisions import (
    DecisionNotFound,
    InvalidDecision,
    check_actions,
    checked_facts,
    get_decision,
)
from trustdesk.cases.models import Appeal, AppealStatus, AutomatedDecision, CaseStatus, Decision
from trustdesk.cases.outcomes import Docket, Outcome, Ruling, appeal_days, record
from trustdesk.cases.service import category_key, get_case, resolve_category
from trustdesk.cases.strikes import withdraw
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, NotFound, PermissionDenied
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import ServicePacks
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.records import service as records
from trustdesk.records.events import EventType


class AppealNotFound(NotFound):
    code = "appeal_not_found"


class AppealNotAllowed(Conflict):
    code = "appeal_not_allowed"
    title = "Appeal not allowed"


class SameReviewer(PermissionDenied):
    code = "appeal_same_reviewer"
    title = "Appeal needs another reviewer"


@dataclass(frozen=True, slots=True)
class AppealRuling:
    """A senior moderator's decision on an appeal: uphold, or reverse on these facts (and,
    reversing a decision not to act, with these actions)."""

    reverse: bool
    facts: str
    actions: tuple[ActionKind, ...] = ()
    suspend_until: datetime | None = None


def appeal_by_subject(
    session: Session,
    packs_of: ServicePacks,
    service_id: uuid.UUID,
    decision_id: uuid.UUID,
    reason: str,
) -> Appeal:
    """A service's appeal, for its subject, against a decision about it."""
    packs = packs_of(session, service_id)
    return file_appeal(
        session, packs, decision_id, by="subject", reason=reason, service_id=service_id
    )


def appeal_by_notifier(
    session: Session, packs_of: ServicePacks, notice_id: uuid.UUID, token: str, reason: str
) -> Appeal:
    """A notifier's appeal, with the notice's token, against the decision on their notice."""
    found = notices.outcome(session, notice_id, token)
    if found.decision_id is None:
        raise AppealNotAllowed("nothing has been decided on this notice yet")
    packs = packs_of(session, found.service_id)
    return file_appeal(session, packs, found.decision_id, by="notifier", reason=reason)


def file_appeal(
    session: Session,
    packs: Sequence[Pack],
    decision_id: uuid.UUID,
    *,
    by: str,
    reason: str,
    service_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appeal:
    """An appeal by the affected ``subject`` or by the ``notifier`` (against not acting)."""
    moment = now or utcnow()
    reason = checked_facts(reason, "an appeal's reasons")
    with transaction(session):
        decision = get_decision(session, decision_id, lock=True)
        if service_id is not None and decision.service_id != service_id:
            raise DecisionNotFound(f"no decision {decision_id}")
        _check_appealable(session, packs, decision, by=by, moment=moment)
        case = get_case(session, decision.case_id, lock=True)
        appeal = Appeal(
            id=uuid.uuid4(),
            decision_id=decision_id,
            service_id=decision.service_id,
            by=by,
            reason=reason,
            filed_at=moment,
            status=AppealStatus.PENDING,
        )
        appeal.log_index = records.append(
            session,
            EventType.CASES_APPEAL_FILED,
            service_id=decision.service_id,
            data={"appeal_id": str(appeal.id), "decision_id": str(decision_id), "by": by},
            now=moment,
        ).index
        session.add(appeal)
        case.status, case.updated_at = CaseStatus.APPEALED, moment
        case.claimed_by = case.claim_expires_at = None
        session.flush()
        return appeal


def _check_appealable(
    session: Session, packs: Sequence[Pack], decision: Decision, *, by: str, moment: datetime
) -> None:
    if decision.reversed_by is not None or decision.appeal_of is not None:
        raise AppealNotAllowed("this decision was itself an appeal outcome or was reversed")
    days = appeal_days(packs)
    if moment > decision.decided_at + timedelta(days=days):
        raise AppealNotAllowed(f"the appeal window closed {days} days after the decision")
    if by == "subject" and not decision.actions:
        raise AppealNotAllowed("nothing was restricted; only the notifier may appeal")
    if by == "notifier" and decision.actions:
        raise AppealNotAllowed("the notifier may appeal only a decision not to act")
    pending = session.scalar(
        select(Appeal.id).where(
            Appeal.decision_id == decision.id, Appeal.status == AppealStatus.PENDING
        )
    )
    if pending is not None:
        raise AppealNotAllowed("an appeal against this decision is already pending")


def decide_appeal(
    session: Session,
    packs_of: ServicePacks,
    appeal_id: uuid.UUID,
    senior: UserCaller,
    ruling: AppealRuling,
    *,
    now: datetime | None = None,
) -> tuple[Appeal, Outcome | None]:
    """Uphold or reverse; a reversal restores (or, on a notifier's appeal, acts)."""
    packs = packs_of(session, appeal_service(session, appeal_id))
    senior.require(Permission.CASES_APPEAL_DECIDE)
    moment = now or utcnow()
    ruling = replace(ruling, facts=checked_facts(ruling.facts))
    with transaction(session):
        appeal = session.get(Appeal, appeal_id, with_for_update=True, populate_existing=True)
        if appeal is None:
            raise AppealNotFound(f"no appeal {appeal_id}")
        if appeal.status is not AppealStatus.PENDING:
            raise AppealNotAllowed(f"appeal {appeal_id} is {appeal.status}")
        original = get_decision(session, appeal.decision_id, lock=True)
        if original.decided_by == senior.user_id:
            raise SameReviewer("the moderator who decided may not decide the appeal")
        docket = Docket(session, packs, get_case(session, original.case_id, lock=True))
        outcome: Outcome | None = None
        if ruling.reverse:
            outcome = _reverse(docket, original, ruling, senior=senior.user_id, moment=moment)
        appeal.status = AppealStatus.REVERSED if ruling.reverse else AppealStatus.UPHELD
        appeal.decided_by, appeal.decided_at = senior.user_id, moment
        appeal.outcome = outcome.decision.id if outcome is not None else None
        records.append(
            session,
            EventType.CASES_APPEAL_DECIDED,
            service_id=appeal.service_id,
            data={
                "appeal_id": str(appeal.id),
                "outcome": str(appeal.status),
                "by": str(senior.user_id),
                "decision_id": str(outcome.decision.id) if outcome else None,
            },
            now=moment,
        )
        docket.case.status, docket.case.updated_at = CaseStatus.DECIDED, moment
        session.flush()
        return appeal, outcome


def _reverse(
    docket: Docket,
    original: Decision,
    ruling: AppealRuling,
    *,
    senior: uuid.UUID,
    moment: datetime,
) -> Outcome:
    """The decision reversing ``original``: a restore, or the actions it did not take."""
    category = resolve_category(docket.packs, category_key(original.pack_id, original.category))
    if original.actions:
        kinds: tuple[ActionKind, ...] = (ActionKind.RESTORE,)
        until = None
    else:
        kinds, until = check_actions(
            docket.packs,
            category,
            ruling.actions,
            docket.case,
            until=ruling.suspend_until,
            moment=moment,
        )
        if not kinds:
            raise InvalidDecision("reversing a decision not to act names the actions")
    detected = original.automated_detection
    reversal = Ruling(
        category,
        kinds,
        ruling.facts,
        until,
        detected,
        AutomatedDecision.NOT_AUTOMATED,
        senior,
        moment,
    )
    outcome = record(docket, reversal, appeal_of=original)
    original.reversed_by = outcome.decision.id
    withdraw(docket.session, original, moment)
    return outcome


def appeals(
    session: Session,
    *,
    status: AppealStatus | None = AppealStatus.PENDING,
    case_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[Appeal]:
    """Appeals, oldest first (pending ones by default); optionally only those of one case."""
    query = select(Appeal).order_by(Appeal.filed_at).limit(limit)
    if status is not None:
        query = query.where(Appeal.status == status)
    if case_id is not None:
        query = query.join(Decision, Decision.id == Appeal.decision_id).where(
            Decision.case_id == case_id
        )
    with transaction(session):
        return list(session.scalars(query))


def pending_appeals(session: Session, *, limit: int = 100) -> list[tuple[Appeal, Decision]]:
    """The pending appeals, oldest first, each with the decision it appeals (one query)."""
    query = (
        select(Appeal, Decision)
        .join(Decision, Decision.id == Appeal.decision_id)
        .where(Appeal.status == AppealStatus.PENDING)
        .order_by(Appeal.filed_at)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    with read_transaction(session):
        return [(appeal, decision) for appeal, decision in session.execute(query)]


def appeal_service(session: Session, appeal_id: uuid.UUID) -> uuid.UUID:
    """The service an appeal belongs to; :class:`AppealNotFound` if there is no such appeal."""
    with transaction(session):
        found = session.scalar(select(Appeal.service_id).where(Appeal.id == appeal_id))
    if found is None:
        raise AppealNotFound(f"no appeal {appeal_id}")
    return found
