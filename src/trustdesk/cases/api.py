"""HTTP routes of the cases slice.

Anyone: notices (rate limited per address), and with a notice's token its outcome and an
appeal against not acting. Services: trusted flaggers, appeals for their subjects, the
statements to deliver. Moderators: the queue, claims, cases and decisions; senior
moderators: appeals.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.cases import appeals, claims, decisions, notices, service
from trustdesk.cases.models import AppealStatus, TrustedFlagger
from trustdesk.cases.schemas import (
    AppealDecisionIn,
    AppealDecisionOut,
    AppealIn,
    AppealOut,
    CaseOut,
    DecisionIn,
    FlaggerIn,
    FlaggerOut,
    NoticeIn,
    NoticeOutcomeOut,
    OutcomeOut,
    QueueCountsOut,
    QueueEntryOut,
    ReceiptOut,
    StatementOut,
    SubjectAppealIn,
)
from trustdesk.cases.strikes import StrikePolicy
from trustdesk.http.callers import CallerDep, user_holding
from trustdesk.http.deps import SessionDep, get_desk
from trustdesk.http.fields import DateTime
from trustdesk.http.problems import CONFLICT_RESPONSES, PROBLEM_RESPONSES, RATE_LIMITED_RESPONSES
from trustdesk.http.ratelimit import RateLimiter, client_address
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack

router = APIRouter(prefix="/v1", tags=["cases"], responses=PROBLEM_RESPONSES)
TokenHeader = Annotated[str, Header(alias="X-Notice-Token", max_length=200)]
CaseReader = Annotated[UserCaller, Depends(user_holding(Permission.CASES_CASE_READ))]
CaseDecider = Annotated[UserCaller, Depends(user_holding(Permission.CASES_CASE_DECIDE))]
AppealDecider = Annotated[UserCaller, Depends(user_holding(Permission.CASES_APPEAL_DECIDE))]


class CasesDesk(Protocol):
    """What the cases routes take from the application's wiring."""

    @property
    def strike_policy(self) -> StrikePolicy: ...

    @property
    def notice_limiter(self) -> RateLimiter: ...

    def service_packs(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]: ...


DeskDep = Annotated[CasesDesk, Depends(get_desk)]


def _flagger(
    session: SessionDep, authorization: Annotated[str | None, Header(max_length=500)] = None
) -> TrustedFlagger | None:
    """The trusted flagger sending a notice, if any. A dependency, so that a credential that
    is not a flagger's key is refused (401) before the notice is validated."""
    return notices.flagger_by_credential(session, authorization)


@router.post(
    "/notices",
    summary="Report content (no account needed)",
    status_code=201,
    responses=RATE_LIMITED_RESPONSES,
)
def submit_notice(
    body: NoticeIn,
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    flagger: Annotated[TrustedFlagger | None, Depends(_flagger)],
) -> ReceiptOut:
    desk.notice_limiter.check(client_address(request))
    notifier = body.notifier
    notice = notices.NoticeIn(
        service_id=body.service_id,
        category=body.category,
        explanation=body.explanation,
        good_faith=body.good_faith,
        content_id=body.content_id,
        url=body.url,
        notifier_name=notifier.name if notifier else None,
        notifier_email=notifier.email if notifier else None,
        language=body.language,
    )
    receipt = notices.submit_to_service(session, desk.service_packs, notice, flagger=flagger)
    return ReceiptOut.model_validate(receipt, from_attributes=True)


@router.get("/notices/{notice_id}", summary="A notice's outcome, for its notifier")
def notice_outcome(
    notice_id: uuid.UUID, session: SessionDep, token: TokenHeader
) -> NoticeOutcomeOut:
    found = notices.outcome(session, notice_id, token)
    return NoticeOutcomeOut(
        notice_id=found.notice_id,
        received_at=found.received_at,
        case_status=found.case_status,
        decision_id=found.decision_id,
        decided_at=found.decided_at,
        actions=list(found.actions),
        statement=found.statement,
        appeals=[{"id": str(a), "status": s} for a, s in found.appeals],
    )


@router.post(
    "/notices/{notice_id}/appeal",
    summary="Appeal a decision not to act on your notice",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def notifier_appeal(
    notice_id: uuid.UUID,
    body: AppealIn,
    desk: DeskDep,
    session: SessionDep,
    token: TokenHeader,
) -> AppealOut:
    appeal = appeals.appeal_by_notifier(session, desk.service_packs, notice_id, token, body.reason)
    return AppealOut.of(appeal)


@router.post("/flaggers", summary="Register a trusted flagger of this service", status_code=201)
def register_flagger(body: FlaggerIn, caller: CallerDep, session: SessionDep) -> FlaggerOut:
    flagger_id, key = notices.register_flagger(session, caller.service_id, body.name)
    return FlaggerOut(id=flagger_id, key=key)


@router.post(
    "/appeals",
    summary="File a subject's appeal against a decision",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def subject_appeal(
    body: SubjectAppealIn, desk: DeskDep, caller: CallerDep, session: SessionDep
) -> AppealOut:
    appeal = appeals.appeal_by_subject(
        session, desk.service_packs, caller.service_id, body.decision_id, body.reason
    )
    return AppealOut.of(appeal)


@router.get("/statements", summary="Statements of reasons sent to a subject, newest first")
def statements(
    caller: CallerDep, session: SessionDep, subject: Annotated[str, Query(max_length=200)]
) -> list[StatementOut]:
    return [
        StatementOut(subject=s.subject, language=s.language, text=s.text)
        for s in decisions.statements_for(session, caller.service_id, subject)
    ]


def _queue_filter(
    *,
    category: Annotated[str | None, Query(max_length=200)] = None,
    service_id: uuid.UUID | None = None,
    unclaimed: bool = False,
    trusted: Annotated[
        bool | None, Query(description="Only cases from trusted flaggers (true) or not (false).")
    ] = None,
    opened_before: Annotated[
        DateTime | None, Query(description="Only cases opened at or before this moment.")
    ] = None,
) -> service.QueueFilter:
    return service.QueueFilter(
        service_id=service_id,
        category=category,
        trusted=trusted,
        opened_before=opened_before,
        include_claimed=not unclaimed,
    )


QueueFilterDep = Annotated[service.QueueFilter, Depends(_queue_filter)]


@router.get("/cases/queue", summary="Open cases, most urgent first")
def case_queue(
    caller: CaseReader,
    session: SessionDep,
    where: QueueFilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[QueueEntryOut]:
    return [QueueEntryOut.of(e) for e in service.queue(session, where, limit=limit)]


@router.get("/cases/queue/counts", summary="How many open cases the queue's filters find")
def case_queue_counts(
    caller: CaseReader, session: SessionDep, where: QueueFilterDep
) -> QueueCountsOut:
    return QueueCountsOut.of(service.queue_counts(session, where))


@router.get("/cases/{case_id}", summary="A case: content, findings, notices, history")
def get_case(case_id: uuid.UUID, caller: CaseReader, session: SessionDep) -> CaseOut:
    detail = service.case_detail(session, case_id)
    return CaseOut.of(detail.case, detail.items, detail.history)


@router.post(
    "/cases/{case_id}/claim",
    summary="Claim a case for review (15 minutes)",
    responses=CONFLICT_RESPONSES,
)
def claim_case(case_id: uuid.UUID, caller: CaseDecider, session: SessionDep) -> CaseOut:
    detail = claims.claim(session, case_id, caller.user_id)
    return CaseOut.of(detail.case, detail.items, detail.history)


@router.post(
    "/cases/{case_id}/release",
    summary="Give a claimed case back",
    status_code=204,
    responses=CONFLICT_RESPONSES,
)
def release_case(case_id: uuid.UUID, caller: CaseDecider, session: SessionDep) -> None:
    claims.release(session, case_id, caller.user_id)


@router.post(
    "/cases/{case_id}/decision",
    summary="Decide a claimed case",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def decide_case(
    case_id: uuid.UUID,
    body: DecisionIn,
    desk: DeskDep,
    caller: CaseDecider,
    session: SessionDep,
) -> OutcomeOut:
    outcome = decisions.decide(
        session,
        desk.service_packs,
        case_id,
        caller,
        decisions.DecisionIn(
            category=body.category,
            actions=tuple(body.actions),
            facts=body.facts,
            suspend_until=body.suspend_until,
            automated_detection=body.automated_detection,
        ),
        policy=desk.strike_policy,
    )
    return OutcomeOut.of(outcome)


@router.get("/appeals", summary="Appeals, oldest first")
def list_appeals(
    caller: CaseReader,
    session: SessionDep,
    status: AppealStatus | None = AppealStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AppealOut]:
    return [AppealOut.of(a) for a in appeals.appeals(session, status=status, limit=limit)]


@router.post(
    "/appeals/{appeal_id}/decision",
    summary="Decide an appeal (senior moderators)",
    responses=CONFLICT_RESPONSES,
)
def decide_appeal(
    appeal_id: uuid.UUID,
    body: AppealDecisionIn,
    desk: DeskDep,
    caller: AppealDecider,
    session: SessionDep,
) -> AppealDecisionOut:
    ruling = appeals.AppealRuling(body.reverse, body.facts, tuple(body.actions), body.suspend_until)
    appeal, outcome = appeals.decide_appeal(session, desk.service_packs, appeal_id, caller, ruling)
    return AppealDecisionOut(
        appeal=AppealOut.of(appeal), outcome=OutcomeOut.of(outcome) if outcome else None
    )
