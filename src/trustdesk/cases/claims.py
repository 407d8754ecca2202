"""Claims: a moderator holds a case for a while, alone, before deciding it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from trustdesk.cases.models import Case, CaseStatus
from trustdesk.cases.service import CaseClosed, CaseDetail, case_detail, get_case
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict

CLAIM_MINUTES = 15


class CaseClaimed(Conflict):
    code = "case_claimed"
    title = "Case claimed by another moderator"


def claim(
    session: Session, case_id: uuid.UUID, user_id: uuid.UUID, *, now: datetime | None = None
) -> CaseDetail:
    """Claim ``case_id`` for ``user_id`` for :data:`CLAIM_MINUTES` (renewing their own claim);
    the case as the claimant now sees it."""
    moment = now or utcnow()
    with transaction(session):
        case = get_case(session, case_id, lock=True)
        if case.status not in {CaseStatus.OPEN, CaseStatus.APPEALED}:
            raise CaseClosed(f"case {case_id} is {case.status}")
        held = case.claim_expires_at is not None and case.claim_expires_at > moment
        if held and case.claimed_by != user_id:
            raise CaseClaimed(f"case {case_id} is claimed until {case.claim_expires_at:%H:%M:%S}")
        case.claimed_by = user_id
        case.claim_expires_at = moment + timedelta(minutes=CLAIM_MINUTES)
        session.flush()
    return case_detail(session, case_id, now=now)


def release(session: Session, case_id: uuid.UUID, user_id: uuid.UUID) -> None:
    with transaction(session):
        case = get_case(session, case_id, lock=True)
        if case.claimed_by == user_id:
            case.claimed_by = case.claim_expires_at = None


def require_claim(case: Case, user_id: uuid.UUID, moment: datetime) -> None:
    if (
        case.claimed_by != user_id
        or case.claim_expires_at is None
        or case.claim_expires_at <= moment
    ):
        raise CaseClaimed(f"claim case {case.id} before deciding it")
