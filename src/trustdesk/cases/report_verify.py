"""Verifying a report to authorities: what an authority runs, with the log's public key.

:func:`verify` checks a report made by :func:`trustdesk.cases.report.build`: its signature,
its checkpoint, every inclusion proof and that the case, decisions and evidence digests are
the ones the log recorded.

    InvalidInput
    └── ReportUnreadable      report_unreadable    not a report document at all
    TrustdeskError
    └── ReportNotVerified     report_not_verified  a check failed (the first one is named)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trustdesk.cases.report import FORMAT, EvidenceKind, digest_of
from trustdesk.cases.sor import first_error
from trustdesk.errors import InvalidInput, TrustdeskError
from trustdesk.records import merkle
from trustdesk.records.events import EventType
from trustdesk.records.note import NoteError, NoteVerifier, open_checkpoint, open_note

MAX_REPORT_BYTES = 64 * 1024 * 1024


class ReportUnreadable(InvalidInput):
    code = "report_unreadable"


class ReportNotVerified(TrustdeskError):
    code = "report_not_verified"
    title = "Report not verified"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _LoggedEntry(_Model):
    index: int = Field(ge=0)
    leaf: str
    proof: list[str] = Field(max_length=64)


class _Log(_Model):
    origin: str
    checkpoint: str
    entries: list[_LoggedEntry]


class _Linked(_Model):
    id: str
    log_index: int


class _Evidence(_Model):
    kind: str
    id: str
    digest: str
    log_index: int


class _Report(_Model):
    format: str
    report_id: str
    service_id: str
    case: _Linked
    decisions: list[_Linked]
    evidence: list[_Evidence]
    log: _Log


@dataclass(frozen=True, slots=True)
class Verified:
    report_id: str
    case_id: str
    digest: str
    entries: int
    checkpoint_size: int
    signed_by: str


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ReportUnreadable("the report names one key twice in an object")
    return dict(pairs)


def _no_float(text: str) -> Any:
    raise ReportUnreadable(f"the report holds a non-integer number ({text[:20]})")


def load(data: bytes) -> dict[str, Any]:
    """The report document in ``data``, strictly parsed (no duplicate keys, no floats)."""
    if len(data) > MAX_REPORT_BYTES:
        raise ReportUnreadable(f"a report is at most {MAX_REPORT_BYTES} bytes")
    try:
        document = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportUnreadable(f"the report is not UTF-8 JSON ({exc.__class__.__name__})") from exc
    if not isinstance(document, dict) or set(document) != {"format", "report", "signature"}:
        raise ReportUnreadable("a report is an object of format, report and signature")
    if document["format"] != FORMAT:
        raise ReportUnreadable(f"the format is not {FORMAT}")
    if not isinstance(document["report"], dict) or not isinstance(document["signature"], str):
        raise ReportUnreadable("report is an object and signature a signed note")
    return document


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportNotVerified(f"{where}: not base64") from exc
    return raw


def _fail(where: str, why: str) -> ReportNotVerified:
    return ReportNotVerified(f"{where}: {why}")


def verify(data: bytes, verifiers: Sequence[NoteVerifier]) -> Verified:
    """Check a report: its signature, its checkpoint, every inclusion proof, its references.

    Raises :class:`ReportUnreadable` for a file that is no report and
    :class:`ReportNotVerified` naming the first check that fails.
    """
    document = load(data)
    raw: dict[str, Any] = document["report"]
    try:
        digest = digest_of(raw)
    except (ValueError, UnicodeError) as exc:  # rfc8785: lone surrogates, huge integers
        raise ReportUnreadable("the report cannot be put in canonical JSON") from exc
    try:
        opened = open_note(document["signature"], verifiers)
    except NoteError as exc:
        raise _fail("signature", exc.message) from exc
    lines = opened.body.decode("utf-8").split("\n")
    if len(lines) != 4 or lines[0] != FORMAT or lines[3] != "":
        raise _fail("signature", "the signed note is not a report signature")
    if lines[1] != str(raw.get("report_id")):
        raise _fail("signature", "it signs another report id")
    if lines[2] != f"sha256:{digest}":
        raise _fail("package digest", "the report does not match its signature")
    try:
        report = _Report.model_validate(raw)
    except ValidationError as exc:
        raise _fail("report", first_error(exc)) from exc
    try:
        checkpoint = open_checkpoint(report.log.checkpoint, verifiers, origin=report.log.origin)
    except NoteError as exc:
        raise _fail("checkpoint", exc.message) from exc
    leaves = _check_entries(report, checkpoint.size, checkpoint.root_hash)
    _check_links(report, leaves)
    return Verified(
        report.report_id,
        report.case.id,
        digest,
        len(leaves),
        checkpoint.size,
        ", ".join(str(v) for v in opened.signers),
    )


def _check_entries(report: _Report, size: int, root: bytes) -> dict[int, dict[str, Any]]:
    leaves: dict[int, dict[str, Any]] = {}
    for entry in report.log.entries:
        where = f"entry {entry.index}"
        if entry.index in leaves:
            raise _fail(where, "listed twice")
        leaf_bytes = _decode(entry.leaf, where)
        proof = [_decode(p, where) for p in entry.proof]
        try:
            merkle.verify_inclusion(merkle.leaf_hash(leaf_bytes), entry.index, size, proof, root)
        except merkle.ProofError as exc:
            raise _fail(where, f"inclusion proof: {exc.message}") from exc
        try:
            parsed = json.loads(leaf_bytes)
        except ValueError as exc:
            raise _fail(where, "the leaf is not JSON") from exc
        if not isinstance(parsed, dict) or parsed.get("service") != report.service_id:
            raise _fail(where, "the leaf is not an event of the report's service")
        leaves[entry.index] = parsed
    return leaves


def _check_links(report: _Report, leaves: dict[int, dict[str, Any]]) -> None:
    """The case, decisions and evidence digests are the ones the log recorded."""

    def data_at(index: int, where: str, event: str) -> dict[str, Any]:
        found = leaves.get(index)
        if found is None or found.get("type") != event or not isinstance(found.get("data"), dict):
            raise _fail(where, f"no {event} entry at index {index}")
        data: dict[str, Any] = found["data"]
        return data

    case = data_at(report.case.log_index, f"case {report.case.id}", EventType.CASES_CASE_OPENED)
    if case.get("case_id") != report.case.id:
        raise _fail(f"case {report.case.id}", "its log entry is about another case")
    for decision in report.decisions:
        where = f"decision {decision.id}"
        data = data_at(decision.log_index, where, EventType.CASES_DECISION_MADE)
        if data.get("decision_id") != decision.id or data.get("case_id") != report.case.id:
            raise _fail(where, "its log entry is about another decision")
    for evidence in report.evidence:
        where = f"evidence {evidence.id}"
        if evidence.kind == EvidenceKind.CONTENT_ITEM:
            data = data_at(evidence.log_index, where, EventType.SCREENING_CONTENT_SCREENED)
            logged = (data.get("item_id"), data.get("text_digest"))
        else:
            data = data_at(evidence.log_index, where, EventType.RECORDS_EVIDENCE_PRESERVED)
            logged = (data.get("evidence_id"), data.get("digest"))
        if logged != (evidence.id, evidence.digest):
            raise _fail(where, "its digest is not the one the log recorded")
