"""Retention of evidence: legal holds, and the purge that crypto-shreds what expired.

A purge destroys the wrapped data key and the ciphertext (so no copy of the key ring can
recover the content), replaces the content reference by its SHA-256 and appends
``records:evidence:purged`` with the digest, which stays in the log for good. Evidence
under an unreleased hold is skipped until the hold is released. Hold reasons may name
people: the log carries only their SHA-256.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, defer

from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.evidence import (
    EvidenceNotFound,
    EvidencePurged,
    EvidenceView,
    check_text,
    find,
    view,
)
from trustdesk.records.models import Evidence, LegalHold
from trustdesk.views import view_of

MAX_REASON = 1000
MAX_NAME = 200
BATCH = 500


class InvalidHold(InvalidInput):
    code = "invalid_hold"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class HoldReleased(Conflict):
    code = "hold_already_released"


@dataclass(frozen=True, slots=True)
class HoldView:
    id: uuid.UUID
    evidence_id: uuid.UUID
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None


def _hold_view(row: LegalHold) -> HoldView:
    return view_of(HoldView, row)


def place_hold(
    session: Session,
    evidence_id: uuid.UUID,
    *,
    reason: str,
    by: str,
    service_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> HoldView:
    """Keep the evidence past its retention until the hold is released."""
    check_text(reason, "reason", MAX_REASON, InvalidHold)
    check_text(by, "by", MAX_NAME, InvalidHold)
    moment = now or utcnow()
    with transaction(session):
        evidence = find(session, evidence_id, service_id, lock=True)
        if evidence.purged_at is not None:
            raise EvidencePurged(f"evidence {evidence_id} was purged at {evidence.purged_at}")
        hold = LegalHold(
            id=uuid.uuid4(), evidence_id=evidence_id, reason=reason, placed_by=by, placed_at=moment
        )
        session.add(hold)
        session.flush()
        data = {
            "evidence_id": str(evidence_id),
            "hold_id": str(hold.id),
            "reason_digest": leaf.keyed(reason),
        }
        records.append(
            session,
            EventType.RECORDS_EVIDENCE_HELD,
            service_id=evidence.service_id,
            data=data,
            now=moment,
        )
        return _hold_view(hold)


def release_hold(
    session: Session,
    target: uuid.UUID,
    *,
    by: str,
    service_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[HoldView]:
    """Release the hold ``target``, or every active hold on the evidence ``target``."""
    check_text(by, "by", MAX_NAME, InvalidHold)
    moment = now or utcnow()
    with transaction(session):
        hold = session.get(LegalHold, target, populate_existing=True)
        if hold is not None:
            evidence = find(session, hold.evidence_id, service_id)
            if hold.released_at is not None:
                raise HoldReleased(f"hold {target} was released at {hold.released_at}")
            holds = [hold]
        else:
            try:
                evidence = find(session, target, service_id)
            except EvidenceNotFound as exc:
                raise EvidenceNotFound(f"no legal hold or evidence {target}") from exc
            active = LegalHold.evidence_id == target, LegalHold.released_at.is_(None)
            holds = list(session.scalars(select(LegalHold).where(*active)))
            if not holds:
                raise HoldNotFound(f"evidence {target} has no active legal hold")
        for hold in holds:
            hold.released_by, hold.released_at = by, moment
            data = {"evidence_id": str(hold.evidence_id), "hold_id": str(hold.id)}
            records.append(
                session,
                EventType.RECORDS_EVIDENCE_RELEASED,
                service_id=evidence.service_id,
                data=data,
                now=moment,
            )
        session.flush()
        return [_hold_view(h) for h in holds]


def _still_held(session: Session, found: list[EvidenceView]) -> set[uuid.UUID]:
    held: set[uuid.UUID] = set()
    for start in range(0, len(found), BATCH):
        ids = [v.id for v in found[start : start + BATCH]]
        active = LegalHold.evidence_id.in_(ids), LegalHold.released_at.is_(None)
        held.update(session.scalars(select(LegalHold.evidence_id).where(*active)))
    return held


def _shred(session: Session, batch: list[EvidenceView], moment: datetime) -> list[EvidenceView]:
    done = [
        replace(v, content_ref=f"sha256:{leaf.text_digest(v.content_ref)}", purged_at=moment)
        for v in batch
    ]
    gone = dict.fromkeys(("kek_id", "wrapped_key", "nonce", "ciphertext", "subject"))
    rows = [{"id": v.id, "content_ref": v.content_ref, "purged_at": moment, **gone} for v in done]
    session.execute(update(Evidence), rows)
    events = [
        leaf.Event(
            EventType.RECORDS_EVIDENCE_PURGED,
            v.service_id,
            {"evidence_id": str(v.id), "digest": v.digest.hex()},
        )
        for v in done
    ]
    records.append_many(session, events, now=moment)
    return done


def purge_expired(
    session: Session,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[EvidenceView]:
    """Crypto-shred evidence past its retention with no active hold; log each digest.

    Returns what was purged (with ``dry_run``: what would be). ``progress(done, total)``
    is called as batches complete.
    """
    moment = now or utcnow()
    held = exists().where(LegalHold.evidence_id == Evidence.id, LegalHold.released_at.is_(None))
    query = (
        select(Evidence)
        .options(defer(Evidence.ciphertext), defer(Evidence.wrapped_key))
        .where(Evidence.retain_until <= moment, Evidence.purged_at.is_(None), ~held)
    )
    query = query.order_by(Evidence.retain_until, Evidence.id)
    with transaction(session):
        if not dry_run:
            query = query.with_for_update(of=Evidence)
        found = [view(row) for row in session.scalars(query)]
        if dry_run:
            return found
        # Under PostgreSQL a hold committed while we waited for a row lock is not in the
        # query's snapshot; this second read (a new statement) sees it.
        held_now = _still_held(session, found)
        due = [v for v in found if v.id not in held_now]
        purged: list[EvidenceView] = []
        for start in range(0, len(due), BATCH):
            purged += _shred(session, due[start : start + BATCH], moment)
            if progress is not None:
                progress(len(purged), len(due))
        return purged
