"""Reports to authorities: made over HTTP, verified, and every tampering caught by name."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from trustdesk.app import desk_of
from trustdesk.cases import report, report_verify
from trustdesk.crypto.keyring import LocalKeyRing
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records import evidence
from trustdesk.records.models import LogEntry
from trustdesk.records.note import NoteSigner, NoteVerifier

from desk import SYNTHETIC, Desk
from support import HOSTILE_STRINGS, assert_problem, token_for

SCAMS = "eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD"


def signer_of(desk: Desk) -> NoteSigner:
    signer: NoteSigner = desk_of(desk.client.app).log_signer  # type: ignore[arg-type]
    return signer


def verifiers(desk: Desk) -> list[NoteVerifier]:
    return [signer_of(desk).verifier]


@pytest.fixture
def officer(database: Database) -> str:
    return token_for(database, "officer.one", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def case_id(desk: Desk, database: Database, tmp_path: Any) -> str:
    """A case with a screened item, a notice, a decision, an appeal, a reversal, evidence."""
    desk.screen("m-1", "稳赚不赔 guaranteed returns", subject="acct-1", language="en")
    notice = desk.notice(
        content_id="m-1",
        category=SCAMS,
        notifier={"name": "Zhang Wei", "email": "zhang.wei@example.org"},
    )
    assert notice.status_code == 201, notice.text
    case = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    assert desk.post(f"/v1/cases/{case}/claim", {}, desk.moderator).status_code == 200
    decided = desk.post(
        f"/v1/cases/{case}/decision",
        {
            "category": SCAMS,
            "actions": ["delete"],
            "facts": "Scam lure by acct-1, reported by zhang.wei@example.org.",
        },
        desk.moderator,
    ).json()
    appeal = desk.post(
        "/v1/appeals", {"decision_id": decided["decision"]["id"], "reason": "I am Person 1."}
    ).json()
    reversed_ = desk.post(
        f"/v1/appeals/{appeal['id']}/decision",
        {"reverse": True, "facts": "Satire."},
        desk.senior,
    )
    assert reversed_.status_code == 200, reversed_.text
    keyring = LocalKeyRing.open(tmp_path / "evidence-keyring.json", development=True)
    with database.session() as session:
        evidence.preserve(
            session,
            keyring,
            service_id=uuid.UUID(desk.service_id),
            content_ref="m-1",
            subject="acct-1",
            content="稳赚不赔 guaranteed returns".encode(),
            context={},
            retain_days=30,
        )
    return str(case)


def make(desk: Desk, case: str, token: str, body: Any = None) -> Any:
    return desk.client.post(
        f"/v1/cases/{case}/authority-report",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_report_holds_the_case_and_proves_every_entry(
    desk: Desk, database: Database, case_id: str, officer: str
) -> None:
    answer = make(desk, case_id, officer, {"authority": "Cyber police", "reference": "2026-17"})
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    checked = report_verify.verify(answer.content, verifiers(desk))
    assert answer.headers["X-Report-Digest"] == f"sha256:{checked.digest}"
    body = document["report"]
    assert body["case"]["id"] == case_id and checked.case_id == case_id
    assert body["authority"] == "Cyber police" and body["reference"] == "2026-17"
    assert [d["actions"] for d in body["decisions"]] == [["delete"], ["restore"]]
    assert [a["kind"] for a in body["actions"]] == ["delete", "restore"]
    assert [a["status"] for a in body["appeals"]] == ["reversed"]
    assert {e["kind"] for e in body["evidence"]} == {"content_item", "preserved"}
    types = [e["type"] for e in body["log"]["entries"]]
    for wanted in (
        "screening:content:screened",
        "cases:case:opened",
        "cases:notice:received",
        "cases:decision:made",
        "cases:action:issued",
        "cases:appeal:filed",
        "cases:appeal:decided",
        "records:evidence:preserved",
    ):
        assert wanted in types, wanted
    assert checked.entries == len(types)
    text = answer.text
    for secret in ("Zhang Wei", "zhang.wei", "acct-1", "Person 1", "m-1", *SYNTHETIC):
        assert secret not in text, secret
    assert body["case"]["subject_digest"]  # the subject only as its pseudonym's digest

    with database.session() as session:
        sent = session.scalars(
            select(LogEntry.leaf).where(LogEntry.type == "cases:report:sent")
        ).all()
    assert len(sent) == 1
    logged = json.loads(sent[0])["data"]
    assert logged["package_digest"] == checked.digest
    assert logged["case_id"] == case_id
    assert int(answer.headers["X-Log-Index"]) >= checked.checkpoint_size

    again = make(desk, case_id, officer)
    assert again.status_code == 201
    later = again.json()["report"]
    assert "cases:report:sent" in [e["type"] for e in later["log"]["entries"]]
    assert later["authority"] is None
    report_verify.verify(again.content, verifiers(desk))


def test_only_holders_of_records_export_create_may_make_one(
    desk: Desk, database: Database, case_id: str, officer: str
) -> None:
    assert_problem(make(desk, case_id, desk.moderator), 403, "permission_denied")
    assert_problem(make(desk, case_id, desk.auditor), 403, "permission_denied")
    assert_problem(make(desk, case_id, desk.key), 403, "permission_denied")  # not a user
    assert_problem(make(desk, str(uuid.uuid4()), officer), 404, "case_not_found")
    assert make(desk, "not-a-uuid", officer).status_code == 422
    assert_problem(make(desk, case_id, officer, {"authority": "x" * 201}), 422, "invalid_request")
    assert_problem(make(desk, case_id, officer, {"extra": 1}), 422, "invalid_request")
    control = make(desk, case_id, officer, {"authority": "a\x00b"})
    assert_problem(control, 422, "invalid_request")  # NUL: refused before any service


# Tampering: each part of a report, caught and named.


def sealed(desk: Desk, case_id: str, officer: str) -> dict[str, Any]:
    answer = make(desk, case_id, officer)
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    return document


def resign(desk: Desk, body: dict[str, Any]) -> bytes:
    """The report re-signed by the log's own key: tampering that passes the outer signature."""
    return report.seal(body, signer_of(desk))[0]


def flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def entry_of(body: dict[str, Any], event: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in body["log"]["entries"] if e["type"] == event)
    return found


def _facts(body: dict[str, Any]) -> None:
    body["decisions"][0]["facts"] = "Nothing happened."


def _checkpoint_root(body: dict[str, Any]) -> None:
    lines = body["log"]["checkpoint"].split("\n")
    lines[2] = base64.b64encode(b"\x00" * 32).decode()
    body["log"]["checkpoint"] = "\n".join(lines)


def _checkpoint_origin(body: dict[str, Any]) -> None:
    body["log"]["origin"] = "another.example/log"


def _proof(body: dict[str, Any]) -> None:
    entry = next(e for e in body["log"]["entries"] if e["proof"])
    entry["proof"][0] = flip(entry["proof"][0])


def _leaf(body: dict[str, Any]) -> None:
    entry = entry_of(body, "cases:decision:made")
    leaf = json.loads(base64.b64decode(entry["leaf"]))
    leaf["data"]["actions"] = []
    entry["leaf"] = base64.b64encode(json.dumps(leaf).encode()).decode()


def _index(body: dict[str, Any]) -> None:
    entry_of(body, "cases:case:opened")["index"] += 1


def _twice(body: dict[str, Any]) -> None:
    body["log"]["entries"].append(copy.deepcopy(body["log"]["entries"][0]))


def _dropped(body: dict[str, Any]) -> None:
    body["log"]["entries"] = [
        e for e in body["log"]["entries"] if e["type"] != "cases:decision:made"
    ]


def _evidence(body: dict[str, Any]) -> None:
    body["evidence"][0]["digest"] = "0" * 64


def _decision_index(body: dict[str, Any]) -> None:
    body["decisions"][0]["log_index"] = body["case"]["log_index"]


def _case_id(body: dict[str, Any]) -> None:
    body["case"]["id"] = str(uuid.uuid4())


def _service(body: dict[str, Any]) -> None:
    body["service_id"] = str(uuid.uuid4())


def _not_base64(body: dict[str, Any]) -> None:
    body["log"]["entries"][0]["leaf"] = "not base64!"


def _shape(body: dict[str, Any]) -> None:
    body["decisions"] = "none"


RESIGNED: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_checkpoint_root, "checkpoint:"),
    (_checkpoint_origin, "checkpoint:"),
    (_proof, "inclusion proof"),
    (_leaf, "inclusion proof"),
    (_index, "inclusion proof"),
    (_twice, "listed twice"),
    (_dropped, "decision"),
    (_evidence, "evidence"),
    (_decision_index, "decision"),
    (_case_id, "case"),
    (_service, "not an event of the report's service"),
    (_not_base64, "not base64"),
    (_shape, "report: decisions"),
]


@pytest.mark.parametrize(("tamper", "words"), RESIGNED, ids=[t.__name__ for t, _ in RESIGNED])
def test_tampering_inside_a_resigned_report_is_named(
    desk: Desk, case_id: str, officer: str, tamper: Callable[[dict[str, Any]], None], words: str
) -> None:
    body = sealed(desk, case_id, officer)["report"]
    tamper(body)
    with pytest.raises(report_verify.ReportNotVerified, match=words):
        report_verify.verify(resign(desk, body), verifiers(desk))


def test_tampering_with_the_report_breaks_its_digest(
    desk: Desk, case_id: str, officer: str
) -> None:
    document = sealed(desk, case_id, officer)
    _facts(document["report"])
    data = json.dumps(document).encode()
    with pytest.raises(report_verify.ReportNotVerified, match="package digest"):
        report_verify.verify(data, verifiers(desk))


def test_tampering_with_the_signature_is_caught(desk: Desk, case_id: str, officer: str) -> None:
    document = sealed(desk, case_id, officer)
    head, _, signature = document["signature"].rstrip("\n").rpartition(" ")
    forged = dict(document, signature=f"{head} {flip(signature)}\n")
    with pytest.raises(report_verify.ReportNotVerified, match="signature: the signature by"):
        report_verify.verify(json.dumps(forged).encode(), verifiers(desk))


def test_a_report_signed_by_another_key_is_refused(desk: Desk, case_id: str, officer: str) -> None:
    document = sealed(desk, case_id, officer)
    impostor = NoteSigner(signer_of(desk).name, Ed25519PrivateKey.generate())
    data = report.seal(document["report"], impostor)[0]
    with pytest.raises(report_verify.ReportNotVerified, match="signature"):
        report_verify.verify(data, verifiers(desk))
    with pytest.raises(report_verify.ReportNotVerified, match="signature"):
        report_verify.verify(json.dumps(document).encode(), [impostor.verifier])


def test_another_reports_signature_is_refused(desk: Desk, case_id: str, officer: str) -> None:
    first, second = sealed(desk, case_id, officer), sealed(desk, case_id, officer)
    swapped = dict(first, signature=second["signature"])
    with pytest.raises(report_verify.ReportNotVerified, match="another report"):
        report_verify.verify(json.dumps(swapped).encode(), verifiers(desk))


# Files that are no report at all.

UNREADABLE: list[tuple[str, bytes, str]] = [
    ("empty", b"", "not UTF-8 JSON"),
    ("not JSON", b"{report", "not UTF-8 JSON"),
    ("not UTF-8", b'{"format": "\xff"}', "not UTF-8 JSON"),
    ("a list", b"[]", "an object of format"),
    ("missing parts", b'{"format": "trustdesk-authority-report/1"}', "an object of format"),
    (
        "other format",
        b'{"format": "zip", "report": {}, "signature": ""}',
        "format is not",
    ),
    (
        "report not an object",
        b'{"format": "trustdesk-authority-report/1", "report": [], "signature": ""}',
        "report is an object",
    ),
    ("duplicate keys", b'{"format": 1, "format": 2}', "one key twice"),
    ("a float", b'{"format": 1.5}', "non-integer"),
    ("NaN", b'{"format": NaN}', "non-integer"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, "not UTF-8 JSON"),
]


@pytest.mark.parametrize(("name", "data", "words"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_files_that_are_no_report_are_unreadable(name: str, data: bytes, words: str) -> None:
    key = NoteSigner("example.org/log", Ed25519PrivateKey.generate()).verifier
    with pytest.raises(report_verify.ReportUnreadable, match=words):
        report_verify.verify(data, [key])


def test_a_huge_file_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_verify, "MAX_REPORT_BYTES", 1000)
    key = NoteSigner("example.org/log", Ed25519PrivateKey.generate()).verifier
    with pytest.raises(report_verify.ReportUnreadable, match="at most 1000 bytes"):
        report_verify.verify(b" " * 1001, [key])


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_files_give_clear_errors(hostile: str) -> None:
    key = NoteSigner("example.org/log", Ed25519PrivateKey.generate()).verifier
    data = hostile.encode("utf-8", "surrogatepass")
    with pytest.raises((report_verify.ReportUnreadable, report_verify.ReportNotVerified)):
        report_verify.verify(data, [key])
    document = {"format": report.FORMAT, "report": {"report_id": hostile}, "signature": hostile}
    with pytest.raises((report_verify.ReportUnreadable, report_verify.ReportNotVerified)):
        report_verify.verify(json.dumps(document).encode(), [key])
