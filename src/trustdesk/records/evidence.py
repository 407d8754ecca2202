"""Evidence: content preserved sealed under its own data key, held, and crypto-shredded.

The plaintext package (RFC 8785 JSON of the content and its context) never reaches the
database; its SHA-256 digest goes to the record log, where it outlives the evidence. When
retention ends and no legal hold remains, :func:`purge_expired` destroys the wrapped data
key and the ciphertext. Log entries carry ids and digests only: never the content
reference (a URL may name a person), the subject or a hold's reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.crypto.envelope import open_sealed, seal
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db import sealed as sealed_rows
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import InvalidInput, NotFound, TrustdeskError
from trustdesk.policy.params import RecordPreservationParams
from trustdesk.policy.schema import Pack
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.models import Evidence
from trustdesk.views import view_of

MAX_CONTENT_BYTES = 64 * 1024 * 1024
MAX_CONTEXT_BYTES = 64 * 1024
MAX_CONTENT_REF = 500
MAX_SUBJECT = 200
MAX_RETENTION_DAYS = 36_500
DEFAULT_RETENTION_DAYS = 180


class InvalidEvidence(InvalidInput):
    code = "invalid_evidence"


class EvidenceNotFound(NotFound):
    code = "evidence_not_found"


class EvidencePurged(NotFound):
    code = "evidence_purged"
    title = "Evidence purged"


class EvidenceTampered(TrustdeskError):
    code = "evidence_tampered"
    title = "Evidence tampered with"


@dataclass(frozen=True, slots=True)
class EvidenceView:
    id: uuid.UUID
    service_id: uuid.UUID
    content_ref: str
    captured_at: datetime
    retain_until: datetime
    digest: bytes
    size: int
    log_index: int
    purged_at: datetime | None


def check_text(value: str, name: str, limit: int, error: type[InvalidInput]) -> str:
    if not value.strip():
        raise error(f"{name} must not be empty")
    if len(value) > limit:
        raise error(f"{name} is at most {limit} characters long (got {len(value)})")
    return value


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_RETENTION_DAYS:
        raise InvalidEvidence(f"retention is 1 to {MAX_RETENTION_DAYS} days (got {days!r})")
    return days


def retention_days(packs: Iterable[Pack], override: int | None = None) -> int:
    """``override``, else the longest ``record_preservation`` retention of the packs."""
    if override is not None:
        return _days(override)
    found = [
        o.params.retention_days
        for pack in packs
        for o in pack.obligations
        if isinstance(o.params, RecordPreservationParams)
    ]
    return max(found, default=DEFAULT_RETENTION_DAYS)


def _package(
    content_ref: str, subject: str | None, moment: datetime, context: Mapping[str, Any], body: bytes
) -> bytes:
    try:
        context_json = rfc8785.dumps(dict(context))
    except (TypeError, ValueError) as exc:  # rfc8785.CanonicalizationError is a ValueError
        msg = "context holds only JSON: strings, integers, finite numbers, booleans, null, "
        raise InvalidEvidence(msg + "lists and objects with string keys") from exc
    if len(context_json) > MAX_CONTEXT_BYTES:
        raise InvalidEvidence(f"context is at most {MAX_CONTEXT_BYTES} bytes as JSON")
    document = {
        "content_ref": content_ref,
        "subject": subject,
        "captured_at": leaf.timestamp(moment),
        "context": dict(context),
        "content_b64": base64.b64encode(body).decode("ascii"),
    }
    return rfc8785.dumps(document)


def view(row: Evidence) -> EvidenceView:
    return view_of(EvidenceView, row)


def preserve(
    session: Session,
    keyring: KeyRing,
    *,
    service_id: uuid.UUID,
    content_ref: str,
    subject: str | None,
    content: bytes,
    context: Mapping[str, Any],
    retain_days: int,
    now: datetime | None = None,
) -> EvidenceView:
    """Seal ``content`` and its context as evidence, kept ``retain_days`` and logged.

    ``subject`` is a pseudonym (never a real name); the row keeps only its SHA-256.
    """
    moment = now or utcnow()
    check_text(content_ref, "content_ref", MAX_CONTENT_REF, InvalidEvidence)
    if subject is not None:
        check_text(subject, "subject", MAX_SUBJECT, InvalidEvidence)
    if len(content) > MAX_CONTENT_BYTES:
        raise InvalidEvidence(f"content is at most {MAX_CONTENT_BYTES} bytes (got {len(content)})")
    retain_until = moment + timedelta(days=_days(retain_days))
    package = _package(content_ref, subject, moment, context, content)
    digest = hashlib.sha256(package).digest()
    evidence_id = uuid.uuid4()
    sealed = seal(package, keyring, aad=evidence_id.bytes)
    data = {
        "evidence_id": str(evidence_id),
        "digest": digest.hex(),
        "content_ref_digest": leaf.keyed(content_ref),
        "size": len(package),
        "retain_until": leaf.timestamp(retain_until),
    }
    with transaction(session):
        appended = records.append(
            session,
            EventType.RECORDS_EVIDENCE_PRESERVED,
            service_id=service_id,
            data=data,
            now=moment,
        )
        row = Evidence(
            id=evidence_id,
            service_id=service_id,
            content_ref=content_ref,
            subject=leaf.text_digest(subject) if subject is not None else None,
            captured_at=moment,
            retain_until=retain_until,
            digest=digest,
            size=len(package),
            kek_id=sealed.kek_id,
            wrapped_key=sealed.wrapped_key,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            log_index=appended.index,
        )
        session.add(row)
        session.flush()
        return view(row)


def find(
    session: Session, evidence_id: uuid.UUID, service_id: uuid.UUID | None, *, lock: bool = False
) -> Evidence:
    query = select(Evidence).where(Evidence.id == evidence_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query.execution_options(populate_existing=True))
    if row is None or (service_id is not None and row.service_id != service_id):
        raise EvidenceNotFound(f"no evidence {evidence_id}")
    return row


def _logged_digest(session: Session, row: Evidence) -> object:
    """The digest the log recorded when ``row`` was preserved (None if the entry is not it)."""
    try:
        entry = json.loads(records.entry(session, row.log_index).leaf)
    except records.EntryNotFound:
        return None
    data = entry.get("data") if entry.get("type") == EventType.RECORDS_EVIDENCE_PRESERVED else {}
    return data.get("digest") if data.get("evidence_id") == str(row.id) else None


def open_evidence(
    session: Session, keyring: KeyRing, evidence_id: uuid.UUID, *, service_id: uuid.UUID
) -> tuple[EvidenceView, bytes]:
    """The evidence and its decrypted package, whose digest is checked against the log."""
    with transaction(session):
        row = find(session, evidence_id, service_id)
        if row.purged_at is not None:
            raise EvidencePurged(f"evidence {evidence_id} was purged at {row.purged_at}")
        sealed = row.sealed()
        if sealed is None:
            raise EvidenceTampered(f"evidence {evidence_id} has lost its key")
        logged = _logged_digest(session, row)
        found = view(row)
    package = open_sealed(sealed, keyring, aad=evidence_id.bytes)
    digest = hashlib.sha256(package).hexdigest()
    if digest != found.digest.hex() or digest != logged:
        raise EvidenceTampered(f"evidence {evidence_id} does not match its logged digest")
    return found, package


def key_usage(session: Session) -> dict[str, int]:
    """How many pieces of evidence each key-encryption key wraps."""
    return sealed_rows.key_usage(session, Evidence)


def rewrap(session: Session, keyring: KeyRing, progress: sealed_rows.Progress | None = None) -> int:
    """Move every piece of evidence's data key to the current KEK."""
    return sealed_rows.rewrap_table(session, Evidence, keyring, progress)
