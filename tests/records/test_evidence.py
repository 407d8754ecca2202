"""Evidence: sealed at rest, checked on open, held, purged by crypto-shredding, logged."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from trustdesk.crypto.envelope import DecryptionFailed
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.records import evidence, retention
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.models import Evidence, LegalHold, LogEntry

from support import TEST_DIGEST_KEY

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
CONTENT = "用户发布的违法内容 / the posted message, verbatim".encode()
SUBJECT = "user-pseudonym-7f3a9c"
REF = "https://chat.example/u/zhang.wei.1987/messages/42"
CONTEXT = {"channel": "group-9", "reporter": "notice-17", "score": 0.93, "tags": ["a", "b"]}


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyRing:
    return LocalKeyRing.open(tmp_path / "keys" / "keyring.json", development=True)


def preserve(
    database: Database, keyring: LocalKeyRing, service_id: uuid.UUID, **changes: Any
) -> evidence.EvidenceView:
    arguments: dict[str, Any] = {
        "service_id": service_id,
        "content_ref": REF,
        "subject": SUBJECT,
        "content": CONTENT,
        "context": CONTEXT,
        "retain_days": 30,
        "now": T0,
    }
    with database.session() as session:
        return evidence.preserve(session, keyring, **(arguments | changes))


def stored(database: Database, evidence_id: uuid.UUID) -> dict[str, Any]:
    table = Evidence.__table__
    with database.session() as session:
        row = session.execute(select(table).where(table.c.id == evidence_id)).one()
    return dict(row._mapping)


def log_data(database: Database, type_: EventType) -> list[dict[str, Any]]:
    with database.session() as session:
        leaves = session.scalars(select(LogEntry.leaf).where(LogEntry.type == type_))
        return [json.loads(leaf)["data"] for leaf in leaves]


def all_leaves(database: Database) -> bytes:
    with database.session() as session:
        return b"\n".join(session.scalars(select(LogEntry.leaf)))


def set_column(database: Database, evidence_id: uuid.UUID, **values: Any) -> None:
    with database.transaction() as session:
        session.execute(update(Evidence).where(Evidence.id == evidence_id).values(**values))


def test_preserve_stores_no_plaintext(database: Database, keyring: LocalKeyRing) -> None:
    view = preserve(database, keyring, uuid.uuid4())
    row = stored(database, view.id)
    needles = (CONTENT, SUBJECT.encode(), base64.b64encode(CONTENT))
    for column, value in row.items():
        raw = value if isinstance(value, bytes) else str(value).encode()
        for needle in needles:
            assert needle not in raw, column
    assert row["subject"] == hashlib.sha256(SUBJECT.encode()).hexdigest()
    assert row["kek_id"] == keyring.current_id()
    assert len(row["nonce"]) == 12
    assert row["retain_until"] == T0 + timedelta(days=30)
    assert row["captured_at"] == T0
    assert row["log_index"] == view.log_index


def test_preserve_logs_the_digest_and_no_personal_data(
    database: Database, keyring: LocalKeyRing
) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    [data] = log_data(database, EventType.RECORDS_EVIDENCE_PRESERVED)
    assert data == {
        "evidence_id": str(view.id),
        "digest": view.digest.hex(),
        "content_ref_digest": TEST_DIGEST_KEY.digest(REF),  # keyed: a guessable identifier
        "size": view.size,
        "retain_until": "2026-12-29T08:00:00.000000Z",
    }
    leaves = all_leaves(database)
    for needle in (REF, "zhang.wei", SUBJECT, "group-9"):
        assert needle.encode() not in leaves
    assert CONTENT not in leaves
    with database.session() as session:
        assert records.entry(session, view.log_index).leaf in leaves


def test_open_round_trip(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    with database.session() as session:
        opened, package = evidence.open_evidence(session, keyring, view.id, service_id=service_id)
    assert opened == view
    assert hashlib.sha256(package).digest() == view.digest
    assert len(package) == view.size
    document = json.loads(package)
    assert base64.b64decode(document["content_b64"]) == CONTENT
    assert document["subject"] == SUBJECT
    assert document["content_ref"] == REF
    assert document["context"] == CONTEXT
    assert document["captured_at"] == "2026-11-29T08:00:00.000000Z"


def test_a_changed_ciphertext_byte_fails_to_open(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    ciphertext = stored(database, view.id)["ciphertext"]
    set_column(database, view.id, ciphertext=bytes([ciphertext[0] ^ 1]) + ciphertext[1:])
    with database.session() as session, pytest.raises(DecryptionFailed):
        evidence.open_evidence(session, keyring, view.id, service_id=service_id)


def test_sealed_fields_moved_from_other_evidence_fail_to_open(
    database: Database, keyring: LocalKeyRing
) -> None:
    service_id = uuid.uuid4()
    first = preserve(database, keyring, service_id)
    second = preserve(database, keyring, service_id, content=b"other")
    moved = {k: stored(database, second.id)[k] for k in ("kek_id", "wrapped_key", "nonce")}
    set_column(database, first.id, ciphertext=stored(database, second.id)["ciphertext"], **moved)
    with database.session() as session, pytest.raises(DecryptionFailed):  # aad: evidence id
        evidence.open_evidence(session, keyring, first.id, service_id=service_id)


def test_a_changed_digest_is_detected(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    set_column(database, view.id, digest=bytes(32))
    with database.session() as session, pytest.raises(evidence.EvidenceTampered) as caught:
        evidence.open_evidence(session, keyring, view.id, service_id=service_id)
    assert caught.value.code == "evidence_tampered"
    set_column(database, view.id, digest=view.digest, log_index=view.log_index + 1000)
    with database.session() as session, pytest.raises(evidence.EvidenceTampered):
        evidence.open_evidence(session, keyring, view.id, service_id=service_id)


def test_another_service_cannot_open_it(database: Database, keyring: LocalKeyRing) -> None:
    view = preserve(database, keyring, uuid.uuid4())
    with database.session() as session:
        for evidence_id in (view.id, uuid.uuid4()):
            with pytest.raises(evidence.EvidenceNotFound) as caught:
                evidence.open_evidence(session, keyring, evidence_id, service_id=uuid.uuid4())
            assert caught.value.code == "evidence_not_found"
            assert str(evidence_id) in caught.value.message


def test_purge_waits_for_retention_then_shreds(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    kept = preserve(database, keyring, service_id, retain_days=31)
    with database.session() as session:
        assert retention.purge_expired(session, now=T0 + timedelta(days=29, hours=23)) == []
        [would] = retention.purge_expired(session, now=T0 + timedelta(days=30), dry_run=True)
    assert would == view
    assert stored(database, view.id)["ciphertext"] is not None

    with database.session() as session:
        [purged] = retention.purge_expired(session, now=T0 + timedelta(days=30))
        assert retention.purge_expired(session, now=T0 + timedelta(days=30)) == []
    assert purged.id == view.id
    assert purged.purged_at == T0 + timedelta(days=30)
    row = stored(database, view.id)
    for column in ("kek_id", "wrapped_key", "nonce", "ciphertext", "subject"):
        assert row[column] is None, column
    assert row["content_ref"] == "sha256:" + hashlib.sha256(REF.encode()).hexdigest()
    assert row["digest"] == view.digest
    assert row["purged_at"] == T0 + timedelta(days=30)
    assert stored(database, kept.id)["ciphertext"] is not None

    [data] = log_data(database, EventType.RECORDS_EVIDENCE_PURGED)
    assert data == {"evidence_id": str(view.id), "digest": view.digest.hex()}
    with database.session() as session, pytest.raises(evidence.EvidencePurged) as caught:
        evidence.open_evidence(session, keyring, view.id, service_id=service_id)
    assert caught.value.code == "evidence_purged"
    with database.session() as session, pytest.raises(evidence.EvidenceNotFound):
        evidence.open_evidence(session, keyring, view.id, service_id=uuid.uuid4())


def test_a_hold_blocks_the_purge_until_released(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    later = T0 + timedelta(days=400)
    reason = "Court order 2026-17 concerning Zhang Wei"
    with database.session() as session:
        first = retention.place_hold(session, view.id, reason=reason, by="Li Na", now=T0)
        second = retention.place_hold(session, view.id, reason="audit", by="Li Na", now=T0)
        assert retention.purge_expired(session, now=later) == []
        [released] = retention.release_hold(session, first.id, by="Wang Fang", now=later)
        assert released.released_by == "Wang Fang"
        assert retention.purge_expired(session, now=later) == []  # the second hold remains
        with pytest.raises(retention.HoldReleased):
            retention.release_hold(session, first.id, by="Wang Fang")
        [also] = retention.release_hold(session, view.id, by="Wang Fang", now=later)
        assert also.id == second.id
        with pytest.raises(retention.HoldNotFound):
            retention.release_hold(session, view.id, by="Wang Fang")
        [purged] = retention.purge_expired(session, now=later)
    assert purged.id == view.id

    held = log_data(database, EventType.RECORDS_EVIDENCE_HELD)
    assert held[0] == {
        "evidence_id": str(view.id),
        "hold_id": str(first.id),
        "reason_digest": TEST_DIGEST_KEY.digest(reason),
    }
    assert [d["hold_id"] for d in log_data(database, EventType.RECORDS_EVIDENCE_RELEASED)] == [
        str(first.id),
        str(second.id),
    ]
    leaves = all_leaves(database)
    for needle in ("Zhang Wei", "Court order", "Li Na", "Wang Fang"):
        assert needle.encode() not in leaves
    with database.session() as session:
        rows = session.scalars(select(LegalHold).where(LegalHold.evidence_id == view.id)).all()
        assert {r.reason for r in rows} == {reason, "audit"}
        with pytest.raises(evidence.EvidencePurged):
            retention.place_hold(session, view.id, reason="too late", by="Li Na")


def test_holds_are_scoped_and_checked(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id)
    with database.session() as session:
        with pytest.raises(evidence.EvidenceNotFound):
            retention.place_hold(session, uuid.uuid4(), reason="r", by="b")
        with pytest.raises(evidence.EvidenceNotFound):
            retention.place_hold(session, view.id, reason="r", by="b", service_id=uuid.uuid4())
        with pytest.raises(evidence.EvidenceNotFound):
            retention.release_hold(session, uuid.uuid4(), by="b")
        for reason, by in (("", "b"), ("  ", "b"), ("x" * 1001, "b"), ("r", ""), ("r", "b" * 201)):
            with pytest.raises(retention.InvalidHold):
                retention.place_hold(session, view.id, reason=reason, by=by)
        hold = retention.place_hold(session, view.id, reason="r", by="b", service_id=service_id)
        with pytest.raises(evidence.EvidenceNotFound):
            retention.release_hold(session, hold.id, by="b", service_id=uuid.uuid4())


def test_purge_goes_in_batches_and_reports_progress(
    database: Database, keyring: LocalKeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    views = [preserve(database, keyring, uuid.uuid4(), retain_days=d) for d in (1, 2, 3, 4, 5)]
    with database.session() as session:
        retention.place_hold(session, views[2].id, reason="r", by="b")
    calls: list[tuple[int, int]] = []
    with database.session() as session:
        purged = retention.purge_expired(
            session, now=T0 + timedelta(days=9), progress=lambda d, t: calls.append((d, t))
        )
    assert [v.id for v in purged] == [views[i].id for i in (0, 1, 3, 4)]
    assert calls == [(2, 4), (4, 4)]
    assert len(log_data(database, EventType.RECORDS_EVIDENCE_PURGED)) == 4


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"content_ref": ""}, "content_ref must not be empty"),
        ({"content_ref": "x" * 501}, "at most 500"),
        ({"subject": " "}, "subject must not be empty"),
        ({"subject": "s" * 201}, "at most 200"),
        ({"content": b"x" * 1025}, "content is at most 1024 bytes"),
        ({"retain_days": 0}, "retention"),
        ({"retain_days": -3}, "retention"),
        ({"retain_days": 36_501}, "retention"),
        ({"retain_days": True}, "retention"),
        ({"context": {"score": float("nan")}}, "context holds only JSON"),
        ({"context": {"when": datetime.now(UTC)}}, "context holds only JSON"),
        ({"context": {"raw": b"bytes"}}, "context holds only JSON"),
        ({"context": {"big": "x" * 70_000}}, "context is at most"),
    ],
)
def test_bad_input_is_refused(
    database: Database,
    keyring: LocalKeyRing,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
    words: str,
) -> None:
    monkeypatch.setattr(evidence, "MAX_CONTENT_BYTES", 1024)
    with pytest.raises(evidence.InvalidEvidence) as caught:
        preserve(database, keyring, uuid.uuid4(), **changes)
    assert words in caught.value.message
    assert caught.value.code == "invalid_evidence"
    with database.session() as session:
        assert records.size(session) == 0
        assert session.scalars(select(Evidence)).all() == []


def test_no_subject_is_allowed(database: Database, keyring: LocalKeyRing) -> None:
    service_id = uuid.uuid4()
    view = preserve(database, keyring, service_id, subject=None, context={})
    assert stored(database, view.id)["subject"] is None
    with database.session() as session:
        _, package = evidence.open_evidence(session, keyring, view.id, service_id=service_id)
    assert json.loads(package)["subject"] is None


def test_retention_days_follows_the_packs(packs: PackRegistry) -> None:
    assert evidence.retention_days([packs.get("cn-xj-2014")]) == 60
    assert evidence.retention_days([packs.get("eu-dsa")]) == evidence.DEFAULT_RETENTION_DAYS
    assert evidence.retention_days(packs.all()) == 60
    assert evidence.retention_days([]) == evidence.DEFAULT_RETENTION_DAYS
    assert evidence.retention_days(packs.all(), override=400) == 400
    with pytest.raises(evidence.InvalidEvidence):
        evidence.retention_days(packs.all(), override=0)
