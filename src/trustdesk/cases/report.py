"""Reports to authorities: a case, its decisions, evidence digests and log proofs, signed.

A report is one JSON document, not a zip: everything in it is small text (ids, digests,
log leaves, proofs; the evidence itself stays sealed in the vault), one file is hashed and
signed as it is, and a verifier parses one JSON value instead of an archive format with
its own traps (paths, bombs, entries read twice)::

    {"format": "trustdesk-authority-report/1",
     "report": {case, notices, decisions, actions, appeals, evidence, log: {checkpoint,
                entries: [{index, leaf, proof}]}, ...},
     "signature": "<C2SP signed note by the log's key over the report's SHA-256>"}

The digest is SHA-256 over the RFC 8785 canonical JSON of ``report``. Every record-log entry
about the case (opened, notices, decisions, actions and their delivery, warnings, appeals,
screened content, preserved evidence, earlier reports) comes with its leaf and an RFC 9162
inclusion proof against the signed checkpoint in the report. No identity is inside: the
subject appears as the digest of its pseudonym, content and notifiers not at all, and the
decisions' facts are redacted as in statements of reasons. Making a report appends
``cases:report:sent`` with its digest to the log. :mod:`trustdesk.cases.report_verify`
checks a report with the log's public key and nothing else.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases.models import Action, Appeal, Case, Decision
from trustdesk.cases.redaction import known_identifiers, redact
from trustdesk.cases.service import get_case, target_name
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction
from trustdesk.errors import InvalidInput
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.note import NoteSigner
from trustdesk.text import has_forbidden_characters

FORMAT = "trustdesk-authority-report/1"
MAX_LABEL = 200
PAGE = 1000
_LINKS = ("case_id", "notice_id", "decision_id", "action_id", "appeal_id", "item_id")


@dataclass(frozen=True, slots=True)
class Report:
    """A signed report: the document to send, its digest and the log entry of its sending."""

    report_id: uuid.UUID
    case_id: uuid.UUID
    document: bytes
    digest: str  # hex SHA-256 of the canonical report
    log_index: int


def _ts(moment: datetime | None) -> str | None:
    return leaf.timestamp(moment) if moment is not None else None


def _label(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_LABEL:
        raise InvalidInput(f"{what} is at most {MAX_LABEL} characters")
    if has_forbidden_characters(value, prose=True):
        raise InvalidInput(f"{what} may not contain control characters")
    return value


def digest_of(report: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of ``report``."""
    return hashlib.sha256(rfc8785.dumps(report)).hexdigest()


def _signed_body(report_id: str, digest: str) -> bytes:
    return f"{FORMAT}\n{report_id}\nsha256:{digest}\n".encode()


def seal(report: dict[str, Any], signer: NoteSigner) -> tuple[bytes, str]:
    """The report document (signed by ``signer``) and the report's digest."""
    digest = digest_of(report)
    signature = signer.sign(_signed_body(str(report.get("report_id")), digest))
    document = {"format": FORMAT, "report": report, "signature": signature}
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
    return (text + "\n").encode("utf-8"), digest


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@dataclass(frozen=True, slots=True)
class _Opened:
    """Where a case's entries start and whose they are."""

    log_index: int
    service_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int
    leaf: bytes
    type: str
    data: dict[str, Any]


def _case_entries(
    session: Session, case: _Opened, ids: set[str], refs: set[str], size: int
) -> Iterator[_Entry]:
    """The case's entries, read a page at a time (each page its own read transaction) from
    the one just before it was opened.

    Screening logs a content item just before the case its verdict opens; everything
    else about a case comes after its opening.
    """
    for start in range(max(0, case.log_index - 1), size, PAGE):
        page = records.entries(session, start, min(start + PAGE, size), service_id=case.service_id)
        for found in page:
            parsed = json.loads(found.leaf)
            data = parsed.get("data") or {}
            linked = any(str(data.get(key)) in ids for key in _LINKS if data.get(key))
            preserved = (
                parsed.get("type") == EventType.RECORDS_EVIDENCE_PRESERVED
                and data.get("content_ref_digest") in refs
            )
            if linked or preserved:
                yield _Entry(found.index, found.leaf, str(parsed.get("type")), data)


class EvidenceKind(enum.StrEnum):
    """What a report's evidence entry digests: screened content, or preserved evidence."""

    CONTENT_ITEM = "content_item"
    PRESERVED = "preserved"


def _evidence(entries: Iterable[_Entry], items: set[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for entry in entries:
        if (
            entry.type == EventType.SCREENING_CONTENT_SCREENED
            and entry.data.get("item_id") in items
        ):
            kind, key, digest = EvidenceKind.CONTENT_ITEM, "item_id", "text_digest"
        elif entry.type == EventType.RECORDS_EVIDENCE_PRESERVED:
            kind, key, digest = EvidenceKind.PRESERVED, "evidence_id", "digest"
        else:
            continue
        found.append(
            {
                "kind": kind,
                "id": entry.data.get(key),
                "digest": entry.data.get(digest),
                "log_index": entry.index,
            }
        )
    return found


def _decision(decision: Decision, known: list[str | None]) -> dict[str, Any]:
    return {
        "id": str(decision.id),
        "puid": decision.puid,
        "pack_id": decision.pack_id,
        "category": decision.category,
        "citation": decision.citation,
        "basis": decision.basis,
        "actions": list(decision.actions),
        "suspend_until": _ts(decision.suspend_until),
        "facts": redact(decision.facts, known),
        "automated_detection": decision.automated_detection,
        "automated_decision": str(decision.automated_decision),
        "decided_at": _ts(decision.decided_at),
        "appeal_of": str(decision.appeal_of) if decision.appeal_of else None,
        "reversed_by": str(decision.reversed_by) if decision.reversed_by else None,
        "log_index": decision.log_index,
    }


def _sections(session: Session, case: Case) -> tuple[dict[str, Any], set[str], set[str]]:
    known = known_identifiers(case)
    decision_ids = [d.id for d in case.decisions]
    actions = session.scalars(
        select(Action)
        .where(Action.decision_id.in_(decision_ids))
        .order_by(Action.created_at, Action.id)
    ).all()
    appeals = session.scalars(
        select(Appeal).where(Appeal.decision_id.in_(decision_ids)).order_by(Appeal.filed_at)
    ).all()
    refs = {r for n in case.notices for r in (n.content_id, n.url) if r}
    refs |= {r for r in (case.content_id, case.url) if r}

    def keyed(value: str) -> str:  # as new log entries name guessable values
        return records.keyed_digest(session, value)

    sections = {
        "case": {
            "id": str(case.id),
            "status": str(case.status),
            "category": case.category,
            "opened_at": _ts(case.opened_at),
            "target_digest": keyed(target_name(case.content_id, case.url, case.subject)),
            "subject_digest": keyed(case.subject) if case.subject is not None else None,
            "trusted": case.trusted,
            "automated_detection": case.automated_detection,
            "log_index": case.log_index,
        },
        "notices": [
            {
                "id": str(n.id),
                "received_at": _ts(n.received_at),
                "category": n.category,
                "trusted": n.trusted_flagger_id is not None,
                "explanation_digest": keyed(n.explanation),
                "log_index": n.log_index,
            }
            for n in case.notices
        ],
        "decisions": [_decision(d, known) for d in case.decisions],
        "actions": [
            {
                "id": str(a.id),
                "decision_id": str(a.decision_id),
                "kind": a.kind,
                "status": str(a.status),
                "until": _ts(a.until),
                "delivered_at": _ts(a.delivered_at),
                "acknowledged_at": _ts(a.acknowledged_at),
                "log_index": a.log_index,
            }
            for a in actions
        ],
        "appeals": [
            {
                "id": str(a.id),
                "decision_id": str(a.decision_id),
                "by": a.by,
                "reason_digest": keyed(a.reason),
                "filed_at": _ts(a.filed_at),
                "status": str(a.status),
                "decided_at": _ts(a.decided_at),
                "outcome": str(a.outcome) if a.outcome else None,
                "log_index": a.log_index,
            }
            for a in appeals
        ],
    }
    ids = {str(case.id), *(str(n.id) for n in case.notices), *(str(i) for i in decision_ids)}
    ids |= {str(a.id) for a in actions} | {str(a.id) for a in appeals}
    ids |= {str(i.item_id) for i in case.items}
    # evidence preserved before keyed digests names its content by plain SHA-256
    return sections, ids, {d for r in refs for d in (leaf.text_digest(r), keyed(r))}


def build(
    session: Session,
    case_id: uuid.UUID,
    *,
    signer: NoteSigner,
    origin: str,
    authority: str | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Make, sign and log the report on ``case_id`` (for ``authority``, their ``reference``)."""
    moment = now or utcnow()
    authority = _label(authority, "authority")
    reference = _label(reference, "reference")
    report_id = uuid.uuid4()
    # Short transactions, so that no writer waits for a report on a long log: the case as
    # it stands, then a checkpoint (signed after that read, so it covers every entry the
    # case names), the entries a page at a time with their proofs (the log only grows),
    # and last the entry of the sending.
    with read_transaction(session):
        case = get_case(session, case_id)
        sections, ids, refs = _sections(session, case)
        items = {str(i.item_id) for i in case.items}
        opened = _Opened(case.log_index, case.service_id)
    checkpoint = records.make_checkpoint(session, signer, origin, now=moment)
    entries = list(_case_entries(session, opened, ids, refs, checkpoint.size))
    report: dict[str, Any] = {
        "format": FORMAT,
        "report_id": str(report_id),
        "created_at": leaf.timestamp(moment),
        "authority": authority,
        "reference": reference,
        "service_id": str(opened.service_id),
        **sections,
        "evidence": _evidence(entries, items),
        "log": {
            "origin": origin,
            "verifier_key": signer.verifier.key_string(),
            "checkpoint": checkpoint.note,
            "entries": [
                {
                    "index": e.index,
                    "type": e.type,
                    "leaf": _b64(e.leaf),
                    "proof": [
                        _b64(p) for p in records.inclusion_proof(session, e.index, checkpoint.size)
                    ],
                }
                for e in entries
            ],
        },
    }
    document, digest = seal(report, signer)
    sent = records.append(
        session,
        EventType.CASES_REPORT_SENT,
        service_id=opened.service_id,
        data={
            "report_id": str(report_id),
            "case_id": str(case_id),
            "package_digest": digest,
            "authority_digest": leaf.keyed(authority) if authority else None,
            "reference_digest": leaf.keyed(reference) if reference else None,
        },
        now=moment,
    )
    return Report(report_id, case_id, document, digest, sent.index)
