"""Filings (art. 2): recording, derived status, documents with logged digests, over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from trustdesk.compliance import filings
from trustdesk.compliance.models import FilingDocument
from trustdesk.compliance.service import NewService
from trustdesk.compliance.vocabulary import FilingStatus
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.policy.vocabulary import FilingKind
from trustdesk.records import service as records

from support import HOSTILE_STRINGS, ServiceFactory, assert_problem, bearer

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
TODAY = dt.date(2026, 6, 1)


def body(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "permit",
        "number": "新B2-20140001",
        "authority": "新疆维吾尔自治区通信管理局",
        "issued_on": "2024-01-15",
        "expires_on": "2029-01-15",
    }
    return {**base, **changes}


def url(service: NewService, rest: str = "") -> str:
    return f"/v1/compliance/services/{service.service.id}/filings{rest}"


@pytest.mark.parametrize(
    ("expires", "status"),
    [
        (None, FilingStatus.ACTIVE),
        (TODAY + dt.timedelta(days=365), FilingStatus.ACTIVE),
        (TODAY + dt.timedelta(days=30), FilingStatus.EXPIRING_SOON),
        (TODAY, FilingStatus.EXPIRING_SOON),
        (TODAY - dt.timedelta(days=1), FilingStatus.EXPIRED),
    ],
)
def test_status_is_derived_from_the_expiry_date(expires: dt.date | None, status: str) -> None:
    assert filings.status_of(expires, TODAY, 60) == status


def test_the_warning_period_is_configurable() -> None:
    soon = TODAY + dt.timedelta(days=30)
    assert filings.status_of(soon, TODAY, 29) == FilingStatus.ACTIVE
    assert filings.status_of(soon, TODAY, 30) == FilingStatus.EXPIRING_SOON
    with pytest.raises(InvalidInput):
        filings.warn_days_of(-1)


def test_an_officer_records_and_lists_filings(
    client: TestClient, chat: NewService, officer: dict[str, str], database: Database
) -> None:
    response = client.post(url(chat), json=body(), headers=officer)
    assert response.status_code == 201, response.text
    filing = response.json()
    assert filing["kind"] == "permit"
    assert filing["number"] == "新B2-20140001"
    assert filing["status"] == "active"
    assert filing["recorded_by"] == "dana"
    listed = client.get(url(chat), headers=officer).json()
    assert [f["id"] for f in listed] == [filing["id"]]
    one = client.get(url(chat, f"/{filing['id']}"), headers=officer).json()
    assert one == listed[0]
    with database.session() as session:
        leaf = json.loads(records.entry(session, filing["log_index"]).leaf)
    assert leaf["type"] == "compliance:filing:recorded"
    assert leaf["data"]["filing_id"] == filing["id"]
    assert "新B2" not in json.dumps(leaf, ensure_ascii=False)


def test_expiring_filings_are_flagged_with_the_requested_warning(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    soon = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)).isoformat()
    client.post(url(chat), json=body(expires_on=soon), headers=officer)
    assert client.get(url(chat), headers=officer).json()[0]["status"] == "expiring_soon"
    relaxed = client.get(url(chat), params={"warn_days": 10}, headers=officer).json()
    assert relaxed[0]["status"] == "active"
    bad = client.get(url(chat), params={"warn_days": -3}, headers=officer)
    assert_problem(bad, 422, "invalid_request")


def test_a_filing_is_recorded_with_all_its_documents_or_not_at_all(
    chat: NewService, database: Database
) -> None:
    """The use case the CLI's ``filings add --document`` calls."""
    given = {
        "kind": FilingKind.PERMIT,
        "number": "B2-1",
        "authority": "Bureau",
        "issued_on": TODAY - dt.timedelta(days=3),
        "expires_on": None,
        "by": "dana",
    }
    service_id = chat.service.id
    with database.session() as session, pytest.raises(filings.InvalidDocument):
        filings.record_filing(
            session, service_id, **given, documents=[("a.pdf", PDF), ("b.txt", b"plain")]
        )
    with database.session() as session:
        assert filings.list_filings(session, service_id) == []
        view = filings.record_filing(session, service_id, **given, documents=[("a.pdf", PDF)])
    assert [d.filename for d in view.documents] == ["a.pdf"]
    with database.session() as session:
        assert filings.get_filing(session, service_id, view.id) == view


def test_the_same_number_twice_is_a_conflict(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    assert client.post(url(chat), json=body(), headers=officer).status_code == 201
    again = client.post(url(chat), json=body(), headers=officer)
    assert_problem(again, 409, "filing_exists")
    assert again.json()["field"] == "number"
    other = client.post(url(chat), json=body(kind="filing"), headers=officer)
    assert other.status_code == 201


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "licence"},
        {"issued_on": "2024-13-01"},
        {"issued_on": "1980-01-01"},
        {"issued_on": "2999-01-01", "expires_on": None},
        {"expires_on": "2024-01-15"},
        {"expires_on": "2023-01-01"},
        {"number": "x" * 101},
        {"authority": "\u202eevil"},
        {"extra": "field"},
        *({"number": s} for s in HOSTILE_STRINGS if s.strip() == "" or "\x00" in s),
        *({"authority": s} for s in HOSTILE_STRINGS if len(s) > 500 or s in {"\ud800", " "}),
    ],
)
def test_bad_filings_are_refused(
    client: TestClient, chat: NewService, officer: dict[str, str], changes: dict[str, object]
) -> None:
    payload = json.dumps(body(**changes))  # ASCII: a lone surrogate travels escaped
    headers = {**officer, "Content-Type": "application/json"}
    response = client.post(url(chat), content=payload, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"invalid_request", "invalid_register_entry"}
    assert client.get(url(chat), headers=officer).json() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"issued_on": "1980-01-01"}, "issued_on"),
        ({"issued_on": "2999-01-01", "expires_on": None}, "issued_on"),
        ({"expires_on": "2023-01-01"}, "expires_on"),
        ({"number": " "}, "number"),
        ({"authority": "\u202eevil"}, "authority"),
    ],
)
def test_a_refused_filing_names_its_field(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    changes: dict[str, object],
    field: str,
) -> None:
    response = client.post(url(chat), json=body(**changes), headers=officer)
    assert_problem(response, 422, "invalid_register_entry")
    assert response.json()["field"] == field


def test_a_refusal_about_no_field_names_none(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    missing = client.post(url(chat, f"/{uuid.uuid4()}/documents"), files={"file": ("a.pdf", PDF)})
    assert "field" not in missing.json()
    missing = client.post(
        url(chat, f"/{uuid.uuid4()}/documents"), files={"file": ("a.pdf", PDF)}, headers=officer
    )
    assert_problem(missing, 404, "filing_not_found")
    assert "field" not in missing.json()


def test_hostile_text_that_is_printable_is_stored_as_data(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    for i, text in enumerate(["'; DROP TABLE filings; --", "<script>alert(1)</script>", "😴€"]):
        response = client.post(url(chat), json=body(number=f"{text}{i}"), headers=officer)
        assert response.status_code == 201
        assert response.json()["number"] == f"{text}{i}"


def test_documents_are_stored_with_their_digest_in_the_log(
    client: TestClient, chat: NewService, officer: dict[str, str], database: Database
) -> None:
    filing = client.post(url(chat), json=body(), headers=officer).json()
    docs = url(chat, f"/{filing['id']}/documents")
    response = client.post(docs, files={"file": ("许可证.pdf", PDF, "text/html")}, headers=officer)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["media_type"] == "application/pdf"  # told by its bytes, not the claim
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["filename"] == "许可证.pdf"
    with database.session() as session:
        leaf = json.loads(records.entry(session, document["log_index"]).leaf)
    assert leaf["type"] == "compliance:document:attached"
    assert leaf["data"]["digest"] == hashlib.sha256(PDF).hexdigest()
    assert "许可证" not in json.dumps(leaf, ensure_ascii=False)

    download = client.get(f"{docs}/{document['id']}", headers=officer)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    listed = client.get(url(chat, f"/{filing['id']}"), headers=officer).json()
    assert [d["id"] for d in listed["documents"]] == [document["id"]]


def test_documents_may_be_larger_than_other_requests_but_not_over_their_limit(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    filing = client.post(url(chat), json=body(), headers=officer).json()
    docs = url(chat, f"/{filing['id']}/documents")
    scan = PDF + b"0" * (3 * 1024 * 1024)  # a scanned permit: over the 1 MiB of JSON bodies
    response = client.post(docs, files={"file": ("scan.pdf", scan)}, headers=officer)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(scan)
    oversized = PDF + b"0" * (11 * 1024 * 1024)
    refused = client.post(docs, files={"file": ("big.pdf", oversized)}, headers=officer)
    assert_problem(refused, 413, "payload_too_large")
    elsewhere = client.post(
        url(chat), content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=officer
    )
    assert_problem(elsewhere, 413, "payload_too_large")  # the larger limit is the upload's own


def test_a_document_changed_in_the_database_is_refused(
    client: TestClient, chat: NewService, officer: dict[str, str], database: Database
) -> None:
    filing = client.post(url(chat), json=body(), headers=officer).json()
    docs = url(chat, f"/{filing['id']}/documents")
    document = client.post(docs, files={"file": ("p.png", PNG)}, headers=officer).json()
    forged = PNG + b"forged"
    with database.session() as session, session.begin():
        session.execute(
            update(FilingDocument)
            .where(FilingDocument.id == uuid.UUID(document["id"]))
            .values(content=forged, digest=hashlib.sha256(forged).digest())
        )
    response = client.get(f"{docs}/{document['id']}", headers=officer)
    assert_problem(response, 500, "document_tampered")


@pytest.mark.parametrize(
    "case",
    [
        ("a.pdf", b"", "invalid_document"),
        ("a.html", b"<html><script>alert(1)</script>", "invalid_document"),
        ("a.exe", b"MZ\x90\x00", "invalid_document"),
        ("\u202etxt.exe.pdf", PDF, "invalid_register_entry"),
        ("x" * 201 + ".pdf", PDF, "invalid_register_entry"),
    ],
)
def test_bad_documents_are_refused(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    case: tuple[str, bytes, str],
) -> None:
    name, content, code = case
    filing = client.post(url(chat), json=body(), headers=officer).json()
    docs = url(chat, f"/{filing['id']}/documents")
    response = client.post(docs, files={"file": (name, content)}, headers=officer)
    assert_problem(response, 422, code)
    assert response.json()["field"] == "file"
    assert client.get(url(chat, f"/{filing['id']}"), headers=officer).json()["documents"] == []


def test_folder_names_in_document_names_are_refused(database: Database, chat: NewService) -> None:
    with database.session() as session:
        view = filings.record_filing(
            session,
            chat.service.id,
            kind=FilingKind.FILING,
            number="新ICP备14000001号",
            authority="MIIT",
            issued_on=TODAY,
            expires_on=None,
            by="dana",
            today=TODAY,
        )
        for name in ("../../etc/passwd", "a\\b.pdf", "..", "a\x00.pdf", "", "\ud800"):
            with pytest.raises(InvalidInput):
                filings.attach_document(
                    session, chat.service.id, view.id, filename=name, content=PDF, by="dana"
                )
        assert session.scalars(select(FilingDocument)).all() == []


def test_documents_larger_than_the_limit_are_refused_by_the_service(
    database: Database, chat: NewService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filings, "MAX_DOCUMENT_BYTES", 100)
    with database.session() as session:
        view = filings.record_filing(
            session,
            chat.service.id,
            kind=FilingKind.PERMIT,
            number="B2-1",
            authority="MIIT",
            issued_on=TODAY,
            expires_on=None,
            by="dana",
            today=TODAY,
        )
        with pytest.raises(filings.InvalidDocument, match="at most 100 bytes"):
            filings.attach_document(
                session, chat.service.id, view.id, filename="a.pdf", content=PDF * 10, by="d"
            )


def test_access_needs_the_register_permissions(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    auditor: dict[str, str],
    moderator: dict[str, str],
) -> None:
    assert_problem(client.get(url(chat)), 401, "unauthenticated")
    assert_problem(client.get(url(chat), headers=bearer(chat.api_key)), 403, "permission_denied")
    assert_problem(client.get(url(chat), headers=moderator), 403, "permission_denied")
    assert client.get(url(chat), headers=auditor).status_code == 200
    assert_problem(client.post(url(chat), json=body(), headers=auditor), 403, "permission_denied")
    assert client.post(url(chat), json=body(), headers=officer).status_code == 201


def test_another_services_filing_answers_404(
    client: TestClient, make_service: ServiceFactory, officer: dict[str, str]
) -> None:
    mine, theirs = make_service("Mine"), make_service("Theirs")
    filing = client.post(url(theirs), json=body(), headers=officer).json()
    response = client.get(url(mine, f"/{filing['id']}"), headers=officer)
    assert_problem(response, 404, "filing_not_found")
    missing = f"/v1/compliance/services/{uuid.uuid4()}/filings"
    assert_problem(client.get(missing, headers=officer), 404, "service_not_found")
    assert_problem(
        client.get("/v1/compliance/services/nope/filings", headers=officer), 422, "invalid_request"
    )
