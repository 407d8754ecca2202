"""Disclosure by legal process (art. 5): the only path that decrypts an identity.

A compliance officer records the request: the authority, the legal basis, its reference
number and the subjects (a few, never the whole service). Two approvers (``identity:
disclosure:approve``), neither of them the requester, approve it; any approver may reject
it. The requester may then reveal it once, before it expires. Every step is a record-log
entry, so disclosures are counted and provable; no entry carries a name or a number.

No single person completes a disclosure: the requester and every approval that counts
come from independent accounts, whose circles (the account and everyone who created,
re-roled or reset it, and so on up; :class:`Circles`) do not meet. A vote from an account
not independent of the requester is refused, and so is an approval not independent of
one already given. (Control gained after a vote needs the account's new password, so it
cannot reach back to the vote.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.crypto.envelope import DecryptionFailed
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trustdesk.identity.models import DisclosureRequest, DisclosureVote, Identity
from trustdesk.identity.service import MAX_SUBJECT, clean_text
from trustdesk.identity.vault import Vault
from trustdesk.identity.vocabulary import DisclosureStatus, IdentityStatus
from trustdesk.permissions import Permission
from trustdesk.policy.params import IdentityConfidentialityParams
from trustdesk.policy.schema import Pack
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.views import view_of

MIN_APPROVALS = 2  # trustdesk's own floor, whatever a pack asks


class InvalidDisclosure(InvalidInput):
    code = "invalid_disclosure"


class DisclosureTooBroad(InvalidInput):
    code = "disclosure_too_broad"
    title = "Disclosure too broad"


class DisclosureNotFound(NotFound):
    code = "disclosure_not_found"


class DisclosureClosed(Conflict):
    code = "disclosure_closed"
    title = "Disclosure closed"


class SelfApproval(PermissionDenied):
    code = "disclosure_self_approval"
    title = "Requester may not approve"


class ControlledApprover(PermissionDenied):
    """The voter's account and the requester's are not independent."""

    code = "disclosure_controlled_approver"
    title = "Approver not independent of the requester"


class DependentApprovals(PermissionDenied):
    """Two approvals would come from accounts that are not independent of each other."""

    code = "disclosure_dependent_approvals"
    title = "Approvals not independent"


class Circles(Protocol):
    """Each account's circle: itself and everyone who controls it, directly or not (the auth
    slice's :func:`trustdesk.auth.service.circles`, passed in by the caller)."""

    def __call__(
        self, session: Session, user_ids: Iterable[uuid.UUID]
    ) -> Mapping[uuid.UUID, frozenset[uuid.UUID]]: ...


@dataclass(frozen=True, slots=True)
class NewDisclosure:
    service_id: uuid.UUID
    authority: str
    legal_basis: str
    reference: str
    subjects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VoteView:
    username: str
    approve: bool
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DisclosureView:
    id: uuid.UUID
    service_id: uuid.UUID
    authority: str
    legal_basis: str
    reference: str
    subjects: tuple[str, ...]
    requested_by: str
    requested_at: datetime
    approvals_required: int
    status: DisclosureStatus
    votes: tuple[VoteView, ...]
    decided_at: datetime | None
    expires_at: datetime | None
    revealed_at: datetime | None

    @classmethod
    def of(cls, row: DisclosureRequest) -> DisclosureView:
        return view_of(
            cls,
            row,
            subjects=tuple(row.subjects),
            requested_by=row.requested_by_name,
            requested_at=row.created_at,
            votes=tuple(VoteView(v.username, v.approve, v.reason, v.created_at) for v in row.votes),
        )


@dataclass(frozen=True, slots=True)
class RevealedIdentity:
    """One subject's identity as revealed to the requester; ``found`` False if none is held."""

    subject: str
    found: bool
    status: str | None = None
    kind: str | None = None
    document_type: str | None = None
    name: str | None = None
    number: str | None = None


def approvals_required(packs: Sequence[Pack]) -> int:
    """The most approvals any of ``packs`` asks for, and never fewer than two."""
    asked = [
        o.params.approvals_required
        for pack in packs
        for o in pack.obligations
        if isinstance(o.params, IdentityConfidentialityParams)
    ]
    return max([MIN_APPROVALS, *asked])


def _check(new: NewDisclosure, max_subjects: int) -> NewDisclosure:
    cleaned = (clean_text(s, "a subject", MAX_SUBJECT, field="subjects") for s in new.subjects)
    subjects = tuple(dict.fromkeys(cleaned))
    if not subjects:
        raise InvalidDisclosure("a disclosure names at least one subject", field="subjects")
    if len(subjects) > max_subjects:
        msg = (
            f"a disclosure names at most {max_subjects} subjects (got {len(subjects)}); "
            "there is no bulk disclosure"
        )
        raise DisclosureTooBroad(msg, field="subjects")
    return NewDisclosure(
        new.service_id,
        clean_text(new.authority, "authority", 200, field="authority"),
        clean_text(new.legal_basis, "legal basis", 500, field="legal_basis"),
        clean_text(new.reference, "reference", 200, field="reference"),
        subjects,
    )


def _log(
    session: Session, event: EventType, row: DisclosureRequest, moment: datetime, **extra: object
) -> int:
    data = {"disclosure_id": str(row.id), **extra}
    return records.append(session, event, service_id=row.service_id, data=data, now=moment).index


def request(
    session: Session,
    requester: UserCaller,
    new: NewDisclosure,
    *,
    packs: Sequence[Pack],
    max_subjects: int,
    now: datetime | None = None,
) -> DisclosureView:
    """Record a disclosure request by ``requester`` (who needs ``identity:disclosure:request``)."""
    requester.require(Permission.IDENTITY_DISCLOSURE_REQUEST)
    new = _check(new, max_subjects)
    moment = now or utcnow()
    with transaction(session):
        row = DisclosureRequest(
            id=uuid.uuid4(),
            created_at=moment,
            service_id=new.service_id,
            authority=new.authority,
            legal_basis=new.legal_basis,
            reference=new.reference,
            subjects=list(new.subjects),
            requested_by=requester.user_id,
            requested_by_name=requester.username,
            approvals_required=approvals_required(packs),
            status=DisclosureStatus.PENDING,
        )
        row.log_index = _log(
            session,
            EventType.IDENTITY_DISCLOSURE_REQUESTED,
            row,
            moment,
            authority_digest=leaf.keyed(new.authority),
            reference_digest=leaf.keyed(new.reference),
            requested_by=str(requester.user_id),
            subjects=len(new.subjects),
            approvals_required=row.approvals_required,
        )
        session.add(row)
        session.flush()
        return DisclosureView.of(row)


def _find(session: Session, disclosure_id: uuid.UUID, *, lock: bool = False) -> DisclosureRequest:
    query = select(DisclosureRequest).where(DisclosureRequest.id == disclosure_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise DisclosureNotFound(f"no disclosure request {disclosure_id}")
    return row


def _expire_if_due(session: Session, row: DisclosureRequest, moment: datetime) -> None:
    if (
        row.status is DisclosureStatus.APPROVED
        and row.expires_at is not None
        and moment >= row.expires_at
    ):
        row.status = DisclosureStatus.EXPIRED
        _log(session, EventType.IDENTITY_DISCLOSURE_EXPIRED, row, moment)
        session.flush()


def get(
    session: Session, disclosure_id: uuid.UUID, *, now: datetime | None = None
) -> DisclosureView:
    with transaction(session):
        row = _find(session, disclosure_id, lock=True)
        _expire_if_due(session, row, now or utcnow())
        return DisclosureView.of(row)


def list_requests(
    session: Session,
    *,
    status: DisclosureStatus | None = None,
    requested_by: uuid.UUID | None = None,
    limit: int = 100,
) -> list[DisclosureView]:
    """Disclosure requests, newest first: all, or those in ``status``, or one requester's."""
    query = select(DisclosureRequest).order_by(DisclosureRequest.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(DisclosureRequest.status == status)
    if requested_by is not None:
        query = query.where(DisclosureRequest.requested_by == requested_by)
    with transaction(session):
        return [DisclosureView.of(row) for row in session.scalars(query)]


_NOT_INDEPENDENT = (
    "one of you controls the other, or someone controls you both "
    "(they created the account, changed its roles or set its password)"
)


def _check_independent(
    session: Session, circles: Circles, row: DisclosureRequest, voter: uuid.UUID, approve: bool
) -> None:
    """Refuse ``voter``'s vote unless they are independent of the requester and, for an
    approval, of every approver so far."""
    approvals = [v for v in row.votes if v.approve]
    found = circles(session, {row.requested_by, voter, *(v.user_id for v in approvals)})
    if found[voter] & found[row.requested_by]:
        msg = f"your account is not independent of the requester's: {_NOT_INDEPENDENT}"
        raise ControlledApprover(msg)
    for earlier in approvals if approve else ():
        if found[voter] & found[earlier.user_id]:
            msg = (
                f"your approval would not be independent of {earlier.username}'s: "
                f"{_NOT_INDEPENDENT}; another approver must approve"
            )
            raise DependentApprovals(msg)


def vote(
    session: Session,
    approver: UserCaller,
    disclosure_id: uuid.UUID,
    *,
    approve: bool,
    reason: str | None,
    reveal_hours: int,
    circles: Circles,
    now: datetime | None = None,
) -> DisclosureView:
    """An approver's approval or rejection; enough approvals open it for one reveal.

    :class:`ControlledApprover` if the approver is not independent of the requester,
    :class:`DependentApprovals` if their approval is not independent of an earlier one.
    """
    approver.require(Permission.IDENTITY_DISCLOSURE_APPROVE)
    reason = clean_text(reason, "reason", 500, field="reason") if reason is not None else None
    if not approve and reason is None:
        raise InvalidDisclosure("a rejection gives its reason")
    moment = now or utcnow()
    with transaction(session):
        row = _find(session, disclosure_id, lock=True)
        if row.requested_by == approver.user_id:
            raise SelfApproval("the requester of a disclosure may not approve or reject it")
        if row.status is not DisclosureStatus.PENDING:
            raise DisclosureClosed(f"disclosure request {disclosure_id} is {row.status}")
        if any(v.user_id == approver.user_id for v in row.votes):
            raise DisclosureClosed(f"{approver.username} has already voted on {disclosure_id}")
        _check_independent(session, circles, row, approver.user_id, approve)
        event = (
            EventType.IDENTITY_DISCLOSURE_APPROVED
            if approve
            else EventType.IDENTITY_DISCLOSURE_REJECTED
        )
        index = _log(session, event, row, moment, by=str(approver.user_id))
        row.votes.append(
            DisclosureVote(
                user_id=approver.user_id,
                username=approver.username,
                approve=approve,
                reason=reason,
                created_at=moment,
                log_index=index,
            )
        )
        if not approve:
            row.status, row.decided_at = DisclosureStatus.REJECTED, moment
        elif sum(v.approve for v in row.votes) >= row.approvals_required:
            row.status, row.decided_at = DisclosureStatus.APPROVED, moment
            row.expires_at = moment + timedelta(hours=reveal_hours)
        session.flush()
        return DisclosureView.of(row)


def reveal(
    session: Session,
    vault: Vault,
    requester: UserCaller,
    disclosure_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> tuple[DisclosureView, list[RevealedIdentity]]:
    """Decrypt the identities of an approved request, once, for its requester only.

    A request found expired is recorded as such (committed) before the refusal.
    """
    requester.require(Permission.IDENTITY_DISCLOSURE_REQUEST)
    moment = now or utcnow()
    with transaction(session):
        row = _find(session, disclosure_id, lock=True)
        if row.requested_by != requester.user_id:
            raise PermissionDenied("only the requester of a disclosure may reveal it")
        _expire_if_due(session, row, moment)
        if row.status is DisclosureStatus.APPROVED:
            return _reveal(session, vault, requester, row, moment)
    # outside the transaction, so that an expiry found just now is kept
    raise DisclosureClosed(f"disclosure request {disclosure_id} is {row.status}")


def _reveal(
    session: Session, vault: Vault, requester: UserCaller, row: DisclosureRequest, moment: datetime
) -> tuple[DisclosureView, list[RevealedIdentity]]:
    held = {
        identity.subject: identity
        for identity in session.scalars(
            select(Identity).where(
                Identity.service_id == row.service_id, Identity.subject.in_(row.subjects)
            )
        )
    }
    revealed = [_open(vault, subject, held.get(subject)) for subject in row.subjects]
    row.status, row.revealed_at = DisclosureStatus.REVEALED, moment
    _log(
        session,
        EventType.IDENTITY_DISCLOSURE_REVEALED,
        row,
        moment,
        by=str(requester.user_id),
        revealed=sum(r.number is not None for r in revealed),
    )
    session.flush()
    return DisclosureView.of(row), revealed


def _open(vault: Vault, subject: str, row: Identity | None) -> RevealedIdentity:
    if row is None:
        return RevealedIdentity(subject, found=False)
    if row.status not in {IdentityStatus.VERIFIED, IdentityStatus.ERASURE_PENDING}:
        return RevealedIdentity(subject, True, str(row.status), str(row.kind), row.document_type)
    try:
        plain = vault.open(row)
    except DecryptionFailed:
        return RevealedIdentity(subject, True, "unreadable", str(row.kind), row.document_type)
    return RevealedIdentity(
        subject, True, str(row.status), plain.kind, plain.document_type, plain.name, plain.number
    )


def counts(
    session: Session,
    service_id: uuid.UUID | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, int]:
    """Disclosure requests made in ``[start, end)``, by their status now (for reports)."""
    query = select(DisclosureRequest.status, func.count()).group_by(DisclosureRequest.status)
    if service_id is not None:
        query = query.where(DisclosureRequest.service_id == service_id)
    if start is not None:
        query = query.where(DisclosureRequest.created_at >= start)
    if end is not None:
        query = query.where(DisclosureRequest.created_at < end)
    with read_transaction(session):
        return {str(state): int(n) for state, n in session.execute(query).all()}
