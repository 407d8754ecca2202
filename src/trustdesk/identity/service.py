"""Real-name registration (art. 4), the publishing gate, and erasure.

A registration validates the document, refuses a number already bound to another subject
of the service (found through the blind index, never by decrypting), and seals the
identity into the vault. Nothing a caller gets back, and nothing logged, holds the number
or the name: answers carry the status and a reason code; log entries carry ids, digests of
the subject and the reason.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.identity.documents import registry as documents
from trustdesk.identity.models import Identity
from trustdesk.identity.vault import Plain, Vault
from trustdesk.identity.vocabulary import IdentityKind, IdentityStatus
from trustdesk.policy.params import RealNameRegistrationParams
from trustdesk.policy.schema import Pack
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.text import has_forbidden_characters
from trustdesk.views import view_of

MAX_SUBJECT = 200
MAX_NAME = 200
MAX_NUMBER = 200  # a TD3 machine-readable zone is 88 characters and a separator


class IdentityDuplicate(Conflict):
    code = "identity_duplicate"


class IdentityExists(Conflict):
    code = "identity_exists"


class IdentityNotFound(NotFound):
    code = "identity_not_found"


class InvalidIdentity(InvalidInput):
    code = "invalid_identity"


@dataclass(frozen=True, slots=True)
class StatusView:
    """What anyone but an approved disclosure learns of an identity: its status."""

    subject: str
    status: IdentityStatus
    kind: IdentityKind | None
    document_type: str | None
    reason: str | None
    verified_at: datetime | None
    erase_after: datetime | None

    @classmethod
    def of(cls, row: Identity) -> StatusView:
        return view_of(cls, row)


@dataclass(frozen=True, slots=True)
class Registration:
    """What one registration attempt asks: the subject and the claimed identity."""

    subject: str
    kind: IdentityKind
    name: str
    document_type: str
    number: str

    def __repr__(self) -> str:  # never the name or the number, even in a traceback
        return (
            f"Registration(subject={self.subject!r}, kind={self.kind}, type={self.document_type})"
        )


def clean_text(value: str, what: str, limit: int, *, field: str | None = None) -> str:
    """``value`` stripped: 1 to ``limit`` characters, no control or format characters
    (``what`` names it in the message; ``field``, the request field it came from)."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value or len(value) > limit:
        raise InvalidIdentity(f"{what} is 1 to {limit} characters", field=field)
    if has_forbidden_characters(value):
        msg = f"{what} may not contain control, format or unassigned characters"
        raise InvalidIdentity(msg, field=field)
    return value


def requirements(packs: Iterable[Pack]) -> list[RealNameRegistrationParams]:
    """The real-name registration obligations of ``packs``."""
    return [
        o.params
        for pack in packs
        for o in pack.obligations
        if isinstance(o.params, RealNameRegistrationParams)
    ]


def accepted_types(packs: Iterable[Pack], kind: IdentityKind) -> frozenset[str] | None:
    """Document types the packs accept for ``kind``; None if no pack restricts them."""
    found = requirements(packs)
    if not found:
        return None
    accepted: set[str] = set()
    for params in found:
        chosen = params.individual if kind is IdentityKind.INDIVIDUAL else params.organisation
        accepted |= {str(t) for t in chosen}
    return frozenset(accepted)


def gate_required(packs: Iterable[Pack]) -> bool:
    """True if a pack requires a verified identity before a subject publishes."""
    return any(p.required_before == "publishing" for p in requirements(packs))


def _find(
    session: Session, service_id: uuid.UUID, subject: str, *, lock: bool = False
) -> Identity | None:
    query = select(Identity).where(Identity.service_id == service_id, Identity.subject == subject)
    if lock:
        query = query.with_for_update()
    return session.scalar(query.execution_options(populate_existing=True))


def _log(session: Session, event: EventType, row: Identity, moment: datetime, **extra: str) -> int:
    data = {
        "identity_id": str(row.id),
        "subject_digest": leaf.keyed(row.subject),
        "kind": str(row.kind),
        "document_type": row.document_type,
        **extra,
    }
    return records.append(session, event, service_id=row.service_id, data=data, now=moment).index


def _log_rejection(
    session: Session, service_id: uuid.UUID, attempt: Registration, reason: str, moment: datetime
) -> int:
    data = {
        "subject_digest": leaf.keyed(attempt.subject),
        "kind": str(attempt.kind),
        "document_type": attempt.document_type,
        "reason": reason,
    }
    return records.append(
        session, EventType.IDENTITY_SUBJECT_REJECTED, service_id=service_id, data=data, now=moment
    ).index


def _check_document(
    packs: Sequence[Pack], kind: IdentityKind, document_type: str, number: str
) -> tuple[str | None, str]:
    """``(normalised number, "")`` if the document is acceptable, else ``(None, reason)``."""
    accepted = accepted_types(packs, kind)
    if accepted is not None and document_type not in accepted:
        return None, "document_type_not_accepted"
    try:
        return documents.get_document_type(document_type).validate(number), ""
    except documents.DocumentError as exc:
        return None, exc.reason


def _clean(attempt: Registration) -> Registration:
    if attempt.document_type not in documents.TYPES:
        known = ", ".join(sorted(documents.TYPES))
        raise InvalidIdentity(
            f"document type {attempt.document_type[:40]!r} is not one of: {known}",
            field="document.type",
        )
    if not attempt.number or len(attempt.number) > MAX_NUMBER:
        msg = f"a document number is 1 to {MAX_NUMBER} characters"
        raise InvalidIdentity(msg, field="document.number")
    return Registration(
        clean_text(attempt.subject, "subject", MAX_SUBJECT, field="subject"),
        IdentityKind(attempt.kind),
        clean_text(attempt.name, "name", MAX_NAME, field="name"),
        attempt.document_type,
        attempt.number,
    )


def register(
    session: Session,
    vault: Vault,
    packs: Sequence[Pack],
    service_id: uuid.UUID,
    attempt: Registration,
    *,
    now: datetime | None = None,
) -> StatusView:
    """Validate and seal an identity for ``attempt.subject``; its status view either way.

    A rejected attempt keeps only its reason, and never replaces a verified identity.
    Registering the same number again for the same subject changes nothing. A number bound
    to another subject raises :class:`IdentityDuplicate` (the attempt is still logged).
    """
    moment = now or utcnow()
    attempt = _clean(attempt)
    number, reason = _check_document(packs, attempt.kind, attempt.document_type, attempt.number)
    with transaction(session):
        row = _find(session, service_id, attempt.subject, lock=True)
        held = row is not None and row.status in _HELD
        if number is None:
            index = _log_rejection(session, service_id, attempt, reason, moment)
            if not held:
                _rejected(
                    session, row, service_id, attempt, reason=reason, log_index=index, now=moment
                )
            return StatusView(
                attempt.subject,
                IdentityStatus.REJECTED,
                attempt.kind,
                attempt.document_type,
                reason,
                None,
                None,
            )
        digest = vault.blind_index(service_id, attempt.document_type, number)
        if row is not None and held and row.blind_index == digest:
            return StatusView.of(row)  # the same identity again
        if held:
            raise IdentityExists(
                f"subject {attempt.subject!r} already holds an identity; erase it first"
            )
        duplicate = session.scalar(
            select(Identity.id).where(
                Identity.service_id == service_id, Identity.blind_index == digest
            )
        )
        if duplicate is not None:
            _log_rejection(session, service_id, attempt, IdentityDuplicate.code, moment)
        else:
            row = _verified(
                session, vault, row, service_id, attempt, number=number, digest=digest, now=moment
            )
            return StatusView.of(row)
    raise IdentityDuplicate("this document is already registered to another subject")


_HELD = frozenset({IdentityStatus.VERIFIED, IdentityStatus.ERASURE_PENDING})


def _fresh(
    session: Session,
    row: Identity | None,
    service_id: uuid.UUID,
    attempt: Registration,
    *,
    status: IdentityStatus,
    now: datetime,
) -> Identity:
    if row is None:
        row = Identity(
            id=uuid.uuid4(), service_id=service_id, subject=attempt.subject, created_at=now
        )  # added to the session once its log entry is written
    row.status, row.kind, row.document_type = status, attempt.kind, attempt.document_type
    row.updated_at, row.erase_after, row.erased_at = now, None, None
    return row


def _rejected(
    session: Session,
    row: Identity | None,
    service_id: uuid.UUID,
    attempt: Registration,
    *,
    reason: str,
    log_index: int,
    now: datetime,
) -> None:
    row = _fresh(session, row, service_id, attempt, status=IdentityStatus.REJECTED, now=now)
    row.reason, row.blind_index, row.verified_at, row.log_index = reason, None, None, log_index
    row.store(None)
    session.add(row)
    session.flush()


def _verified(
    session: Session,
    vault: Vault,
    row: Identity | None,
    service_id: uuid.UUID,
    attempt: Registration,
    *,
    number: str,
    digest: bytes,
    now: datetime,
) -> Identity:
    row = _fresh(session, row, service_id, attempt, status=IdentityStatus.VERIFIED, now=now)
    row.reason, row.blind_index, row.verified_at = None, digest, now
    plain = Plain(str(attempt.kind), attempt.document_type, number, attempt.name)
    vault.seal(row, plain)
    row.log_index = _log(session, EventType.IDENTITY_SUBJECT_VERIFIED, row, now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same number won
        raise IdentityDuplicate("this document is already registered to another subject") from exc
    return row


def status(session: Session, service_id: uuid.UUID, subject: str) -> StatusView:
    """The status of ``subject``'s identity; :class:`IdentityNotFound` if none was registered."""
    with transaction(session):
        row = _find(session, service_id, subject)
        if row is None:
            raise IdentityNotFound(f"no identity registered for subject {subject[:200]!r}")
        return StatusView.of(row)


def may_publish(
    session: Session, service_id: uuid.UUID, packs: Sequence[Pack], subject: str | None
) -> bool:
    """The publishing gate (art. 4): False if the packs require a verified identity and
    ``subject`` (None: anonymous) has none."""
    if not gate_required(packs):
        return True
    if subject is None:
        return False
    with read_transaction(session):
        found = session.scalar(
            select(Identity.status).where(
                Identity.service_id == service_id, Identity.subject == subject
            )
        )
    return found is IdentityStatus.VERIFIED


def request_erasure(
    session: Session,
    service_id: uuid.UUID,
    subject: str,
    retention_days: int,
    *,
    now: datetime | None = None,
) -> StatusView:
    """The account closed: stop the identity serving the gate, and destroy it once
    ``retention_days`` have passed (at once if 0, or if nothing of it was kept)."""
    moment = now or utcnow()
    with transaction(session):
        row = _find(session, service_id, subject, lock=True)
        if row is None:
            raise IdentityNotFound(f"no identity registered for subject {subject[:200]!r}")
        if row.status is not IdentityStatus.VERIFIED:
            if row.status is IdentityStatus.REJECTED:
                _shred(session, row, moment)
            return StatusView.of(row)
        row.status, row.updated_at = IdentityStatus.ERASURE_PENDING, moment
        row.erase_after = moment + timedelta(days=retention_days)
        _log(
            session,
            EventType.IDENTITY_SUBJECT_ERASURE_REQUESTED,
            row,
            moment,
            erase_after=leaf.timestamp(row.erase_after),
        )
        if retention_days == 0:
            _shred(session, row, moment)
        session.flush()
        return StatusView.of(row)


def _shred(session: Session, row: Identity, moment: datetime) -> None:
    row.store(None)
    row.blind_index = None
    row.status, row.updated_at, row.erased_at = IdentityStatus.ERASED, moment, moment
    _log(session, EventType.IDENTITY_SUBJECT_ERASED, row, moment)
    session.flush()


def purge_due(
    session: Session,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[StatusView]:
    """Crypto-shred every identity whose erasure is due: its data key, ciphertext and blind
    index are destroyed, and the erasure is logged."""
    moment = now or utcnow()
    with transaction(session):
        due = session.scalars(
            select(Identity.id).where(
                Identity.status == IdentityStatus.ERASURE_PENDING, Identity.erase_after <= moment
            )
        ).all()
    views: list[StatusView] = []
    for done, identity_id in enumerate(due, 1):
        with transaction(session):
            row = session.get(Identity, identity_id, with_for_update=True, populate_existing=True)
            if row is None or row.status is not IdentityStatus.ERASURE_PENDING:
                continue  # re-registered or erased meanwhile
            if not dry_run:
                _shred(session, row, moment)
            views.append(StatusView.of(row))
        if progress is not None:
            progress(done, len(due))
    return views


def counts(session: Session, service_id: uuid.UUID) -> dict[str, int]:
    """How many identities the service holds, by status."""
    with transaction(session):
        rows = session.execute(
            select(Identity.status, func.count())
            .where(Identity.service_id == service_id)
            .group_by(Identity.status)
        ).all()
    return {str(state): int(count) for state, count in rows}
