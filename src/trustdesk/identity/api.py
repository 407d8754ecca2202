"""HTTP routes of the identity slice: registration, status and erasure for services;
disclosure requests, votes and the one reveal for users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.http.callers import CallerDep, user_holding
from trustdesk.http.deps import SessionDep, SettingsDep, get_desk
from trustdesk.http.problems import CONFLICT_RESPONSES, PROBLEM_RESPONSES
from trustdesk.identity import disclosure, service
from trustdesk.identity.schemas import (
    DisclosureIn,
    DisclosureOut,
    IdentityOut,
    RegistrationIn,
    RevealedOut,
    RevealOut,
    VoteIn,
)
from trustdesk.identity.vault import Vault
from trustdesk.identity.vocabulary import DisclosureStatus, IdentityStatus
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack

router = APIRouter(prefix="/v1", tags=["identity"], responses=PROBLEM_RESPONSES)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REQUEST, APPROVE = Permission.IDENTITY_DISCLOSURE_REQUEST, Permission.IDENTITY_DISCLOSURE_APPROVE
Requester = Annotated[UserCaller, Depends(user_holding(REQUEST))]
Approver = Annotated[UserCaller, Depends(user_holding(APPROVE))]
Either = Annotated[UserCaller, Depends(user_holding(REQUEST, APPROVE))]  # may see requests


class IdentityDesk(Protocol):
    """What identity's routes take from the application's wiring."""

    @property
    def vault(self) -> Vault: ...

    @property
    def circles(self) -> disclosure.Circles: ...

    def service_packs(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]: ...


DeskDep = Annotated[IdentityDesk, Depends(get_desk)]


@router.post(
    "/identities",
    summary="Register a subject's real identity (verified or rejected with a reason code)",
    responses={
        201: {"description": "Verified"},
        200: {"description": "Rejected"},
        **CONFLICT_RESPONSES,
    },
)
def register(
    body: RegistrationIn,
    desk: DeskDep,
    response: Response,
    caller: CallerDep,
    session: SessionDep,
) -> IdentityOut:
    attempt = service.Registration(
        body.subject, body.kind, body.name, body.document.type, body.document.number
    )
    packs = desk.service_packs(session, caller.service_id)
    view = service.register(session, desk.vault, packs, caller.service_id, attempt)
    response.status_code = 201 if view.status is IdentityStatus.VERIFIED else 200
    return IdentityOut.of(view)


@router.get("/identities/{subject}", summary="The status of a subject's identity (never its data)")
def identity_status(subject: str, caller: CallerDep, session: SessionDep) -> IdentityOut:
    return IdentityOut.of(service.status(session, caller.service_id, subject))


@router.delete(
    "/identities/{subject}",
    summary="The account closed: erase the identity once retention allows",
)
def erase(
    subject: str, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> IdentityOut:
    view = service.request_erasure(
        session, caller.service_id, subject, settings.identity_retention_days
    )
    return IdentityOut.of(view)


@router.post(
    "/disclosures",
    summary="Record a disclosure request by legal process",
    status_code=201,
)
def request_disclosure(
    body: DisclosureIn,
    desk: DeskDep,
    caller: Requester,
    session: SessionDep,
    settings: SettingsDep,
) -> DisclosureOut:
    new = disclosure.NewDisclosure(
        body.service_id, body.authority, body.legal_basis, body.reference, tuple(body.subjects)
    )
    view = disclosure.request(
        session,
        caller,
        new,
        packs=desk.service_packs(session, body.service_id),
        max_subjects=settings.disclosure_max_subjects,
    )
    return DisclosureOut.of(view)


@router.get("/disclosures", summary="Disclosure requests, newest first")
def list_disclosures(
    caller: Either,
    session: SessionDep,
    status: DisclosureStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DisclosureOut]:
    return [
        DisclosureOut.of(v) for v in disclosure.list_requests(session, status=status, limit=limit)
    ]


@router.get("/disclosures/{disclosure_id}", summary="One disclosure request and its votes")
def get_disclosure(disclosure_id: uuid.UUID, caller: Either, session: SessionDep) -> DisclosureOut:
    return DisclosureOut.of(disclosure.get(session, disclosure_id))


@dataclass(frozen=True, slots=True)
class Ballot:
    """An approver's vote on a disclosure, but for its choice: who votes, and what with."""

    caller: UserCaller
    session: Session
    reveal_hours: int
    circles: disclosure.Circles

    def cast(self, disclosure_id: uuid.UUID, body: VoteIn, *, approve: bool) -> DisclosureOut:
        view = disclosure.vote(
            self.session,
            self.caller,
            disclosure_id,
            approve=approve,
            reason=body.reason,
            reveal_hours=self.reveal_hours,
            circles=self.circles,
        )
        return DisclosureOut.of(view)


def _ballot(desk: DeskDep, caller: Approver, session: SessionDep, settings: SettingsDep) -> Ballot:
    return Ballot(caller, session, settings.disclosure_reveal_hours, desk.circles)


BallotDep = Annotated[Ballot, Depends(_ballot)]


@router.post(
    "/disclosures/{disclosure_id}/approve",
    summary="Approve (disclosure approvers)",
    responses=CONFLICT_RESPONSES,
)
def approve(disclosure_id: uuid.UUID, body: VoteIn, ballot: BallotDep) -> DisclosureOut:
    return ballot.cast(disclosure_id, body, approve=True)


@router.post(
    "/disclosures/{disclosure_id}/reject",
    summary="Reject, with a reason",
    responses=CONFLICT_RESPONSES,
)
def reject(disclosure_id: uuid.UUID, body: VoteIn, ballot: BallotDep) -> DisclosureOut:
    return ballot.cast(disclosure_id, body, approve=False)


@router.post(
    "/disclosures/{disclosure_id}/reveal",
    summary="Reveal an approved disclosure, once, to its requester",
    responses=CONFLICT_RESPONSES,
)
def reveal(
    disclosure_id: uuid.UUID,
    desk: DeskDep,
    response: Response,
    caller: Requester,
    session: SessionDep,
) -> RevealOut:
    view, identities = disclosure.reveal(session, desk.vault, caller, disclosure_id)
    response.headers.update(NO_STORE)
    return RevealOut(
        disclosure=DisclosureOut.of(view), identities=[RevealedOut.of(i) for i in identities]
    )
