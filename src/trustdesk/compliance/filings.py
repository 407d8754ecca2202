"""Use cases of the filing register: the permits and filings each service holds (art. 2).

A filing's status is derived from its dates each time it is read: ``expired`` after its
expiry date, ``expiring_soon`` within ``warn_days`` of it, else ``active``. A document
proving a filing (a scan of the permit, PDF, PNG or JPEG) is stored with the filing and its
SHA-256 goes to the record log, so a document swapped later no longer matches the log.
Log entries carry ids and digests only, never the number, authority or file name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from trustdesk.compliance import fields
from trustdesk.compliance.models import Filing, FilingDocument
from trustdesk.compliance.service import get_service
from trustdesk.compliance.vocabulary import FilingStatus
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, NotFound, TrustdeskError
from trustdesk.policy.vocabulary import FilingKind
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.views import view_of

DEFAULT_WARN_DAYS = 60
MAX_WARN_DAYS = 3650
MAX_NUMBER = 100
MAX_AUTHORITY = 200
MAX_FILENAME = 200
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 20
# What a permit scan may be, told by its first bytes (the name and declared type are ignored).
MEDIA_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


class FilingNotFound(NotFound):
    code = "filing_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class FilingExists(Conflict):
    code = "filing_exists"


class InvalidDocument(fields.InvalidRegisterEntry):
    code = "invalid_document"


class DocumentTampered(TrustdeskError):
    code = "document_tampered"
    title = "Document tampered with"


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: uuid.UUID
    filing_id: uuid.UUID
    filename: str
    media_type: str
    size: int
    digest: bytes
    uploaded_by: str
    uploaded_at: dt.datetime
    log_index: int

    @property
    def sha256(self) -> str:
        return self.digest.hex()


@dataclass(frozen=True, slots=True)
class FilingView:
    id: uuid.UUID
    service_id: uuid.UUID
    kind: FilingKind
    number: str
    authority: str
    issued_on: dt.date
    expires_on: dt.date | None
    status: FilingStatus
    recorded_by: str
    created_at: dt.datetime
    log_index: int
    documents: tuple[DocumentView, ...]


def status_of(expires_on: dt.date | None, today: dt.date, warn_days: int) -> FilingStatus:
    """``expired`` past ``expires_on``, ``expiring_soon`` within ``warn_days`` of it."""
    if expires_on is None:
        return FilingStatus.ACTIVE
    if expires_on < today:
        return FilingStatus.EXPIRED
    if expires_on <= today + dt.timedelta(days=warn_days):
        return FilingStatus.EXPIRING_SOON
    return FilingStatus.ACTIVE


def warn_days_of(days: int) -> int:
    if isinstance(days, bool) or not 0 <= days <= MAX_WARN_DAYS:
        raise fields.InvalidRegisterEntry(f"the warning period is 0 to {MAX_WARN_DAYS} days")
    return days


def _document_view(row: FilingDocument) -> DocumentView:
    return view_of(DocumentView, row)


def _view(row: Filing, today: dt.date, warn_days: int) -> FilingView:
    return view_of(
        FilingView,
        row,
        status=status_of(row.expires_on, today, warn_days),
        documents=tuple(_document_view(d) for d in row.documents),
    )


def _today(today: dt.date | None) -> dt.date:
    return today or utcnow().date()


def record_filing(
    session: Session,
    service_id: uuid.UUID,
    *,
    kind: FilingKind,
    number: str,
    authority: str,
    issued_on: dt.date,
    expires_on: dt.date | None,
    by: str,
    documents: Sequence[tuple[str, bytes]] = (),
    today: dt.date | None = None,
) -> FilingView:
    """Add a permit or filing to a service's register and log it, with the ``documents``
    proving it (``(filename, content)``, see :func:`attach_document`): all of them or, if
    one is refused, nothing."""
    day = _today(today)
    kind = FilingKind(kind)
    number = fields.text(number, "the filing number", MAX_NUMBER, field="number")
    authority = fields.text(authority, "the issuing authority", MAX_AUTHORITY, field="authority")
    issued_on = fields.date(issued_on, "the issue date", latest=day, field="issued_on")
    if expires_on is not None and expires_on <= issued_on:
        msg = "a filing expires after the day it was issued"
        raise fields.InvalidRegisterEntry(msg, field="expires_on")
    by = fields.actor(by)
    with transaction(session):
        get_service(session, service_id)
        clash = select(Filing.id).where(
            Filing.service_id == service_id, Filing.kind == kind, Filing.number == number
        )
        if session.scalar(clash) is not None:
            raise FilingExists(
                f"this service already has a {kind} with that number", field="number"
            )
        filing_id = uuid.uuid4()
        appended = records.append(
            session,
            EventType.COMPLIANCE_FILING_RECORDED,
            service_id=service_id,
            data={
                "filing_id": str(filing_id),
                "kind": str(kind),
                "number_digest": leaf.keyed(number),
                "issued_on": issued_on.isoformat(),
                "expires_on": expires_on.isoformat() if expires_on else None,
            },
        )
        row = Filing(
            id=filing_id,
            service_id=service_id,
            kind=kind,
            number=number,
            authority=authority,
            issued_on=issued_on,
            expires_on=expires_on,
            recorded_by=by,
            log_index=appended.index,
            documents=[],
        )
        session.add(row)
        session.flush()
        for name, content in documents:
            attach_document(session, service_id, filing_id, filename=name, content=content, by=by)
        if documents:
            session.expire(row, ["documents"])
        return _view(row, day, DEFAULT_WARN_DAYS)


def list_filings(
    session: Session,
    service_id: uuid.UUID | None = None,
    *,
    today: dt.date | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
) -> list[FilingView]:
    """The filings of one service (or of all), soonest expiry first."""
    day, warn_days = _today(today), warn_days_of(warn_days)
    with transaction(session):
        query = select(Filing)
        if service_id is not None:
            get_service(session, service_id)
            query = query.where(Filing.service_id == service_id)
        rows = session.scalars(query).all()
        views = [_view(row, day, warn_days) for row in rows]
    return sorted(views, key=lambda v: (v.expires_on or dt.date.max, v.number))


def get_filing(
    session: Session,
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    *,
    today: dt.date | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
) -> FilingView:
    with transaction(session):
        return _view(_filing(session, service_id, filing_id), _today(today), warn_days)


def _filing(session: Session, service_id: uuid.UUID, filing_id: uuid.UUID) -> Filing:
    row = session.get(Filing, filing_id)
    if row is None or row.service_id != service_id:
        raise FilingNotFound(f"no filing {filing_id}")
    return row


def media_type_of(content: bytes) -> str:
    for magic, media_type in MEDIA_TYPES:
        if content.startswith(magic):
            return media_type
    raise InvalidDocument("a filing document is a PDF, PNG or JPEG file", field="file")


def filename_of(name: str) -> str:
    """A bare file name: no folders, no control or format characters."""
    if "/" in name or "\\" in name:
        raise InvalidDocument("a document's file name may not contain / or \\", field="file")
    name = fields.text(name, "the document's file name", MAX_FILENAME, field="file")
    if name in {".", ".."}:
        raise InvalidDocument("a document needs a file name", field="file")
    return name


def attach_document(
    session: Session,
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    *,
    filename: str,
    content: bytes,
    by: str,
) -> DocumentView:
    """Store a document proving a filing; its SHA-256 goes to the record log."""
    if not content:
        raise InvalidDocument("the document is empty", field="file")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"a document is at most {MAX_DOCUMENT_BYTES} bytes", field="file")
    media_type = media_type_of(content)
    filename = filename_of(filename)
    by = fields.actor(by)
    digest = hashlib.sha256(content).digest()
    with transaction(session):
        filing = _filing(session, service_id, filing_id)
        if len(filing.documents) >= MAX_DOCUMENTS:
            raise InvalidDocument(f"a filing has at most {MAX_DOCUMENTS} documents", field="file")
        document_id = uuid.uuid4()
        appended = records.append(
            session,
            EventType.COMPLIANCE_DOCUMENT_ATTACHED,
            service_id=service_id,
            data={
                "filing_id": str(filing_id),
                "document_id": str(document_id),
                "digest": digest.hex(),
                "size": len(content),
                "media_type": media_type,
            },
        )
        row = FilingDocument(
            id=document_id,
            filing_id=filing_id,
            filename=filename,
            media_type=media_type,
            size=len(content),
            digest=digest,
            content=content,
            uploaded_by=by,
            uploaded_at=utcnow(),
            log_index=appended.index,
        )
        session.add(row)
        session.flush()
        return _document_view(row)


def read_document(
    session: Session, service_id: uuid.UUID, filing_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[DocumentView, bytes]:
    """A document and its bytes, checked against the digest the log holds."""
    with transaction(session):
        _filing(session, service_id, filing_id)
        row = session.scalar(
            select(FilingDocument)
            .where(FilingDocument.id == document_id, FilingDocument.filing_id == filing_id)
            .options(undefer(FilingDocument.content))
        )
        if row is None:
            raise DocumentNotFound(f"no document {document_id}")
        logged = json.loads(records.entry(session, row.log_index).leaf)["data"]
        actual = hashlib.sha256(row.content).digest()
        if actual != row.digest or logged.get("document_id") != str(row.id):
            raise DocumentTampered(f"document {document_id} no longer matches its digest")
        if logged.get("digest") != actual.hex():
            raise DocumentTampered(f"document {document_id} no longer matches the record log")
        return _document_view(row), row.content
