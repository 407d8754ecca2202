"""The compliance register kept through the console: filings and their documents, servers
(one by one and from CSV), residency findings, the cryptography inventory, and the two
downloads (inventory CSV, CycloneDX CBOM); every write logged, every bad form refused with
a readable page that keeps what was typed and stores nothing."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

import pytest
from console_support import TRACEBACK, Visitor, assert_hostile_fields_answered

from trustdesk.auth import service as auth
from trustdesk.compliance import filings, inventory_csv
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records import service as records

from desk import Desk
from support import ServiceFactory

ID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HEADER = "name,kind,role,provider,location,gbt2260,data_classes,populations\n"
FILING = {
    "kind": "permit",
    "number": "新B2-20260001",
    "authority": "新疆维吾尔自治区通信管理局",
    "issued_on": "2025-03-01",
    "expires_on": "2030-03-01",
}
SERVER = {
    "name": "urumqi-app-1",
    "kind": "server",
    "role": "web",
    "provider": "Xinjiang Cloud",
    "location": "CN-XJ",
    "gbt2260": "650102",
    "data_classes": ["content", "logs"],
    "populations": "CN-XJ; CN",
}
SM4 = {
    "asset_type": "algorithm",
    "name": "SM4",
    "primitive": "block-cipher",
    "mode": "gcm",
    "functions": ["encrypt", "decrypt"],
    "security_level": "128",
}


@pytest.fixture
def officer(database: Database) -> str:
    with database.session() as session:
        auth.create_user(
            session, username="officer.one", password="x" * 16, roles=[Role.COMPLIANCE_OFFICER]
        )
    return "officer.one"


def base(desk: Desk) -> str:
    return f"/console/compliance/services/{desk.service_id}"


def send(visitor: Visitor, path: str, data: dict[str, Any], page: str) -> Any:
    return visitor.post(path, data, form_page=page)


def upload(
    visitor: Visitor, path: str, name: str, content: bytes, page: str, *, kind: str = "text/csv"
) -> Any:
    token = visitor.token(page)
    files = {"file": (name, content, kind)}
    return visitor.client.post(  # the token in the form's address, as the page's form has it
        path, params={"csrf_token": token}, files=files, follow_redirects=False
    )


def log_size(database: Database) -> int:
    with database.session() as session:
        return records.size(session)


def logged(visitor: Visitor) -> list[str]:
    """The compliance events on the record log's latest page, oldest first."""
    return re.findall(r"<code>(compliance:[a-z]+:[a-z]+)</code>", visitor.get("/console/log").text)


def ids(text: str, kind: str) -> list[str]:
    return re.findall(rf'id="{kind}-{ID}"', text)


def readable(answer: Any, status: int, *shown: str) -> None:
    """An HTML page with ``status`` that says each of ``shown`` and shows no traceback."""
    assert answer.status_code == status, answer.text[:2000]
    assert answer.headers["content-type"].startswith("text/html")
    assert not TRACEBACK.search(answer.text)
    for text in shown:
        assert text in answer.text, text


def add_server(visitor: Visitor, desk: Desk, **changes: Any) -> None:
    page = f"{base(desk)}/servers"
    answer = send(visitor, page, {**SERVER, **changes}, page)
    assert answer.status_code == 303, answer.text[:2000]


# --- Filings and documents ---------------------------------------------------------------


def test_an_officer_records_a_filing_attaches_a_document_and_downloads_it(
    visitor: Visitor, desk: Desk, officer: str
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/filings"
    assert 'id="filing-form"' in visitor.get(page).text
    answer = send(visitor, page, FILING, page)
    assert answer.status_code == 303
    assert answer.headers["location"] == page
    shown = visitor.get(page).text
    assert "The filing is recorded." in shown
    dashboard = visitor.get(f"/console/compliance?service={desk.service_id}").text
    assert "新B2-20260001" in dashboard
    assert f'href="{page}"' in dashboard
    assert logged(visitor)[-1] == "compliance:filing:recorded"

    (filing,) = ids(shown, "filing")
    documents = f"{page}/{filing}/documents"
    name = "许可证 扫描件 1.pdf"
    attached = upload(visitor, documents, name, PDF, page, kind="application/pdf")
    assert attached.status_code == 303, attached.text[:2000]
    listed = visitor.get(page).text
    assert "its SHA-256 is in the record log" in listed
    assert logged(visitor)[-1] == "compliance:document:attached"
    link = re.search(rf'href="({documents}/{ID})" download', listed)
    assert link, listed
    download = visitor.get(link.group(1))
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="________1.pdf"')
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name

    visitor.post("/console/logout", form_page=page)
    visitor.sign_in("auditor.one")
    assert visitor.get(link.group(1)).content == PDF  # reading needs no more than read
    assert 'type="file"' not in visitor.get(page).text


def test_a_bad_filing_is_shown_again_with_a_message_per_field(
    visitor: Visitor, desk: Desk, officer: str, database: Database
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/filings"
    before = log_size(database)
    bad = {**FILING, "kind": "licence", "authority": " ", "issued_on": "yesterday"}
    answer = send(visitor, page, {**bad, "expires_on": "2030-13-01"}, page)
    readable(answer, 422, "Choose one of the listed values.", "Fill in this field.")
    assert answer.text.count("Enter a date as YYYY-MM-DD.") == 2
    assert 'value="新B2-20260001"' in answer.text  # what was typed is kept
    assert 'value="yesterday"' in answer.text
    assert 'id="f-kind-error"' in answer.text and 'aria-invalid="true"' in answer.text

    backwards = send(visitor, page, {**FILING, "expires_on": "2025-01-01"}, page)
    readable(backwards, 422, "a filing expires after the day it was issued")
    assert 'id="f-expires-error"' in backwards.text
    future = send(visitor, page, {**FILING, "issued_on": "2999-01-01", "expires_on": ""}, page)
    readable(future, 422, "is in the future")
    assert 'id="f-issued-error"' in future.text
    assert log_size(database) == before
    assert ids(visitor.get(page).text, "filing") == []

    assert send(visitor, page, FILING, page).status_code == 303
    again = send(visitor, page, FILING, page)
    readable(again, 409, "filing_exists", 'id="f-number-error"')


INVALID, NAME = "invalid_document", "invalid_register_entry"
BAD_DOCUMENTS: dict[str, tuple[str, bytes, str, str]] = {
    "executable": ("scan.pdf", b"MZ\x90\x00 not a document", INVALID, "is a PDF, PNG or JPEG"),
    "empty": ("scan.pdf", b"", INVALID, "the document is empty"),
    "path": ("../../../../etc/passwd", PDF, INVALID, "may not contain / or"),
    "backslash": ("a\\b.pdf", PDF, INVALID, "may not contain / or"),
    "right-to-left": ("\u202etxt.exe", PDF, NAME, "control or format characters"),
    "dots": ("..", PDF, INVALID, "a document needs a file name"),
    "long name": ("x" * 300 + ".pdf", PNG, NAME, "at most 200 characters"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
def test_hostile_documents_are_refused_and_nothing_is_kept(
    visitor: Visitor, desk: Desk, officer: str, database: Database, case: str
) -> None:
    name, content, code, shown = BAD_DOCUMENTS[case]
    visitor.sign_in(officer)
    page = f"{base(desk)}/filings"
    send(visitor, page, FILING, page)
    (filing,) = ids(visitor.get(page).text, "filing")
    before = log_size(database)
    answer = upload(visitor, f"{page}/{filing}/documents", name, content, page)
    readable(answer, 422, code, shown, f'id="doc-{filing}-error"')
    assert "No document attached." in answer.text
    assert log_size(database) == before


def test_documents_over_the_limit_or_missing_are_refused(
    visitor: Visitor,
    desk: Desk,
    officer: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/filings"
    send(visitor, page, FILING, page)
    (filing,) = ids(visitor.get(page).text, "filing")
    documents = f"{page}/{filing}/documents"
    before = log_size(database)
    none = send(visitor, documents, {}, page)
    readable(none, 422, "Choose a file to upload.")
    large = upload(visitor, documents, "large.pdf", PDF + b"0" * (2 * 1024 * 1024), page)
    assert large.status_code == 303  # above the 1 MiB of other requests: uploads have more
    huge = upload(visitor, documents, "big.pdf", PDF + b"0" * (11 * 1024 * 1024), page)
    readable(huge, 413, "What you sent is too large.", "payload_too_large")
    before = log_size(database)
    monkeypatch.setattr(filings, "MAX_DOCUMENT_BYTES", 100)
    over = upload(visitor, documents, "big.pdf", PDF * 5, page)
    readable(over, 422, "a document is at most 100 bytes")
    unknown = upload(visitor, f"{page}/{uuid.uuid4()}/documents", "a.pdf", PDF, page)
    readable(unknown, 404, "filing_not_found")
    assert log_size(database) == before


# --- Servers, the CSV inventory and residency ---------------------------------------------


def test_servers_added_and_removed_keep_the_residency_findings_current(
    visitor: Visitor, desk: Desk, officer: str
) -> None:
    visitor.sign_in(officer)
    servers = f"{base(desk)}/servers"
    add_server(visitor, desk)
    assert "The server is recorded and the residency check has run." in visitor.get(servers).text
    assert logged(visitor)[-1] == "compliance:server:recorded"
    add_server(visitor, desk, name="beijing-db-1", location="CN-BJ", gbt2260="")
    assert logged(visitor)[-2:] == ["compliance:server:recorded", "compliance:finding:opened"]
    dashboard = visitor.get(f"/console/compliance?service={desk.service_id}").text
    assert "urumqi-app-1" in dashboard and "beijing-db-1" in dashboard
    assert "stands in CN-BJ, outside CN-XJ" in dashboard

    residency = f"{base(desk)}/residency"
    (finding,) = ids(visitor.get(residency).text, "finding")
    resolve = f"{residency}/findings/{finding}/resolve"
    bare = send(visitor, resolve, {"note": "   "}, residency)
    readable(bare, 422, "Fill in this field.", f'id="note-{finding}-error"')
    assert 'class="badge open"' in bare.text
    note = "Backup copy only; the regulator agreed in writing (ref. 2026-17)."
    assert send(visitor, resolve, {"note": note}, residency).status_code == 303
    shown = visitor.get(residency).text
    assert "your note is on record" in shown
    assert note in shown and 'class="badge resolved"' in shown
    assert logged(visitor)[-1] == "compliance:finding:resolved"
    again = send(visitor, resolve, {"note": note}, residency)
    readable(again, 409, "finding_already_resolved")
    unknown = send(
        visitor, f"{residency}/findings/{uuid.uuid4()}/resolve", {"note": "x"}, residency
    )
    readable(unknown, 404, "finding_not_found")

    checked = send(visitor, f"{residency}/check", {}, residency)
    assert checked.status_code == 303
    assert "The residency check has run" in visitor.get(residency).text

    listed = visitor.get(servers).text
    for server in ids(listed, "server"):
        removed = send(visitor, f"{servers}/{server}/remove", {}, servers)
        assert removed.status_code == 303
        assert logged(visitor)[-1] == "compliance:server:removed"
        gone = send(visitor, f"{servers}/{server}/remove", {}, servers)
        readable(gone, 404, "server_not_found")
    assert "No server in the inventory." in visitor.get(servers).text


def test_a_bad_server_is_shown_again_with_a_message_per_field(
    visitor: Visitor, desk: Desk, officer: str, database: Database
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/servers"
    before = log_size(database)
    bad = {**SERVER, "kind": "robot", "data_classes": ["secrets"], "populations": "CN XX-YY"}
    answer = send(visitor, page, {**bad, "location": "Mars"}, page)
    readable(answer, 422, "Enter an ISO 3166 code like CN or CN-XJ.")
    for field in ("s-kind", "s-data", "s-location", "s-populations"):
        assert f'id="{field}-error"' in answer.text, field
    assert 'value="Mars"' in answer.text and 'value="CN XX-YY"' in answer.text
    assert 'value="urumqi-app-1"' in answer.text
    division = send(visitor, page, {**SERVER, "gbt2260": "110101"}, page)
    readable(division, 422, "six-digit GB/T 2260 code", 'id="s-gbt2260-error"')
    abroad = send(visitor, page, {**SERVER, "location": "DE-BE", "gbt2260": "650102"}, page)
    readable(abroad, 422, "only for locations in China", 'id="s-gbt2260-error"')
    empty = send(visitor, page, {**SERVER, "name": "", "role": ""}, page)
    readable(empty, 422, 'id="s-name-error"', 'id="s-role-error"')
    assert log_size(database) == before
    assert "No server in the inventory." in visitor.get(page).text

    add_server(visitor, desk)
    twice = send(visitor, page, SERVER, page)
    readable(twice, 409, "server_exists", 'id="s-name-error"')


FORMULA = "=cmd|' /C calc'!A0"


def test_the_inventory_csv_downloads_and_imports_back_unchanged(
    visitor: Visitor, desk: Desk, officer: str
) -> None:
    visitor.sign_in(officer)
    servers = f"{base(desk)}/servers"
    add_server(visitor, desk)
    add_server(visitor, desk, name=FORMULA, kind="data_store", role="+1+1", data_classes=[])
    download = visitor.get(f"{servers}.csv")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = download.headers["content-disposition"]
    assert disposition == (
        "attachment; filename=\"Casebook-servers.csv\"; filename*=UTF-8''Casebook-servers.csv"
    )
    exported = download.content
    assert exported.startswith(HEADER.replace("\n", "\r\n").encode())
    assert f"\r\n'{FORMULA},".encode() in exported  # a spreadsheet shows it, never runs it
    assert b",'+1+1," in exported

    for server in ids(visitor.get(servers).text, "server"):
        send(visitor, f"{servers}/{server}/remove", {}, servers)
    assert "No server in the inventory." in visitor.get(servers).text
    imported = upload(visitor, f"{servers}/import", "inventory.csv", exported, servers)
    assert imported.status_code == 303, imported.text[:2000]
    assert "The inventory is imported" in visitor.get(servers).text
    assert logged(visitor)[-1] == "compliance:inventory:imported"
    assert visitor.get(f"{servers}.csv").content == exported  # the round trip loses nothing


BAD_FILES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "wrong headers": (b"host,where\na,b\n", ("Line 1", "unknown column(s)", "missing column")),
    "no header": (b"\n\n", ("Line 1", "the file has no header row")),
    "no rows": (HEADER.encode(), ("Line 2", "the file lists no servers")),
    "not UTF-8": (
        (HEADER + "b\xe4r,server,web,p,CN-XJ,,,CN\n").encode("latin-1"),
        ("Line 2", "the file is not UTF-8"),
    ),
    "UTF-16": ((HEADER + "a,server,web,p,CN-XJ,,,CN\n").encode("utf-16"), ("not UTF-8",)),
    "binary": (b"\x00\x01\x02\xff\xfe" * 50, ("not UTF-8",)),
    "bad rows": (
        (
            HEADER
            + "a,server,web,p,CN-XJ,650102,content,CN\n"
            + "b,robot,web,p,CN-XJ,,,CN\n"
            + 'c,server,web,p,=HYPERLINK("http://x"),,,CN\n'
            + "a,server,web,p,CN-XJ,,,CN\n"
            + "d,server\n"
        ).encode(),
        (
            "Line 3",
            "is not a kind",
            "Line 4",
            "is not an ISO 3166",
            "Line 5",
            "the name is used on line 2 too",
            "Line 6",
            "2 cells where the header has 8",
        ),
    ),
    "hostile cells": (
        (HEADER + "<script>alert(1)</script>,server,web,p,CN-XJ,,,\u202eCN\n").encode(),
        ("Line 2",),
    ),
    "unterminated quote": ((HEADER + 'a,server,"web\n').encode(), ("not CSV",)),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_csv_file_lists_every_problem_by_line_and_imports_nothing(
    visitor: Visitor, desk: Desk, officer: str, database: Database, case: str
) -> None:
    content, shown = BAD_FILES[case]
    visitor.sign_in(officer)
    servers = f"{base(desk)}/servers"
    add_server(visitor, desk, name="kept-1")
    before = log_size(database)
    answer = upload(visitor, f"{servers}/import", "servers.csv", content, servers)
    readable(answer, 422, 'class="row-errors"', *shown)
    assert "<script>alert(1)</script>" not in answer.text
    assert log_size(database) == before
    assert ids(visitor.get(servers).text, "server") == ids(answer.text, "server")
    assert len(ids(answer.text, "server")) == 1


def test_oversized_or_missing_csv_files_are_refused(
    visitor: Visitor,
    desk: Desk,
    officer: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visitor.sign_in(officer)
    servers = f"{base(desk)}/servers"
    target = f"{servers}/import"
    before = log_size(database)
    huge = (HEADER + "a,server,r,p,CN-XJ,,,CN\n" * 60_000).encode()
    readable(upload(visitor, target, "big.csv", huge, servers), 413, "payload_too_large")
    monkeypatch.setattr(inventory_csv, "MAX_BYTES", 200)
    rows = "".join(f"s{n},server,r,p,CN-XJ,,,CN\n" for n in range(20))
    over = upload(visitor, target, "big.csv", (HEADER + rows).encode(), servers)
    readable(over, 422, "inventory_too_large", "at most 200 bytes", 'id="s-file-error"')
    readable(send(visitor, target, {}, servers), 422, "Choose a file to upload.")
    assert log_size(database) == before


# --- The cryptography inventory and the CBOM ----------------------------------------------


def test_an_officer_keeps_the_cryptography_inventory_and_downloads_the_cbom(
    visitor: Visitor, desk: Desk, officer: str
) -> None:
    visitor.sign_in(officer)
    add_server(visitor, desk)
    page = f"{base(desk)}/crypto"
    form = visitor.get(page).text
    for option in ("block-cipher", "gcm", "pkcs7", "tls", "private-key", "compromised"):
        assert f'<option value="{option}">' in form, option
    (server,) = re.findall(rf'name="servers" value="{ID}"', form)
    answer = send(visitor, page, {**SM4, "servers": [server]}, page)
    assert answer.status_code == 303, answer.text[:2000]
    listed = visitor.get(page).text
    assert "The entry is added to the cryptography inventory." in listed
    assert logged(visitor)[-1] == "compliance:crypto:recorded"
    assert "1.2.156.10197.1.104" in listed  # SM4's OID, filled in
    (algorithm,) = ids(listed, "asset")
    key = {
        "asset_type": "key",
        "name": "content-encryption key",
        "key_type": "secret-key",
        "key_size": "128",
        "key_state": "active",
        "secured_by": "HSM cluster 1",
        "created_on": "2025-01-01",
        "expires_on": "2027-01-01",
        "algorithm_id": algorithm,
    }
    assert send(visitor, page, key, page).status_code == 303
    certificate = {
        "asset_type": "certificate",
        "name": "chat.example.cn",
        "subject_name": "CN=chat.example.cn",
        "not_valid_before": "2026-01-01T00:00",
        "not_valid_after": "2027-01-01T00:00:00+08:00",
    }
    assert send(visitor, page, certificate, page).status_code == 303
    dashboard = visitor.get(f"/console/compliance?service={desk.service_id}").text
    assert "content-encryption key" in dashboard and "chat.example.cn" in dashboard

    download = visitor.get(f"{base(desk)}/cbom.json")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/vnd.cyclonedx+json"
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="Casebook-cbom.json"'
    )
    bom = json.loads(download.text)
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.6"
    by_name = {c["name"]: c for c in bom["components"]}
    assert by_name["SM4"]["cryptoProperties"]["oid"] == "1.2.156.10197.1.104"
    material = by_name["content-encryption key"]["cryptoProperties"]
    assert material["relatedCryptoMaterialProperties"]["algorithmRef"].endswith(algorithm)
    cert = by_name["chat.example.cn"]["cryptoProperties"]["certificateProperties"]
    assert cert["notValidBefore"].startswith("2026-01-01T00:00:00")
    assert logged(visitor)[-1] == "compliance:cbom:exported"

    for asset in ids(visitor.get(page).text, "asset"):
        if asset != algorithm:
            assert send(visitor, f"{page}/{asset}/remove", {}, page).status_code == 303
    assert send(visitor, f"{page}/{algorithm}/remove", {}, page).status_code == 303
    assert logged(visitor)[-1] == "compliance:crypto:removed"
    assert "No cryptographic asset recorded." in visitor.get(page).text
    gone = send(visitor, f"{page}/{algorithm}/remove", {}, page)
    readable(gone, 404, "crypto_asset_not_found")


def test_a_bad_crypto_entry_is_shown_again_with_a_message_per_field(
    visitor: Visitor, desk: Desk, officer: str, database: Database
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/crypto"
    before = log_size(database)
    unreadable = {
        "asset_type": "",
        "name": "SM4 (as typed)",
        "mode": "xts",
        "security_level": "lots",
        "servers": ["not-a-uuid"],
        "functions": ["encrypt", "teleport"],
        "not_valid_before": "tomorrow",
        "created_on": "2026-02-30",
    }
    answer = send(visitor, page, unreadable, page)
    readable(answer, 422, "Enter a whole number.", "Enter a date and time (UTC).")
    for field in ("type", "mode", "level", "servers", "functions", "before", "created"):
        assert f'id="c-{field}-error"' in answer.text, field
    assert 'value="SM4 (as typed)"' in answer.text
    assert 'value="encrypt" checked' in answer.text

    cases = {  # the field's id on the page: values its entry refuses
        "primitive": {**SM4, "asset_type": "protocol", "protocol": "tls"},
        "protocol": {"asset_type": "protocol", "name": "TLS"},
        "key-size": {"asset_type": "key", "name": "k", "key_type": "public-key", "key_size": "0"},
        "oid": {**SM4, "oid": "not.an.oid"},
        "servers": {**SM4, "servers": [str(uuid.uuid4())]},
        "after": {
            "asset_type": "certificate",
            "name": "c",
            "subject_name": "CN=c",
            "not_valid_before": "2026-01-02T00:00",
            "not_valid_after": "2026-01-01T00:00",
        },
    }
    for field, values in cases.items():
        refused = send(visitor, page, values, page)
        readable(refused, 422, f'id="c-{field}-error"')
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    pasted = send(visitor, page, {**SM4, "parameter_set": pem}, page)
    readable(pasted, 422, "key_material_refused", 'id="c-parameters-error"')
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" not in pasted.text
    assert log_size(database) == before
    assert "No cryptographic asset recorded." in visitor.get(page).text


# --- Downloads, paths, CSRF, permissions and hostile input ----------------------------------


def test_downloads_name_their_file_safely(
    visitor: Visitor, desk: Desk, officer: str, make_service: ServiceFactory
) -> None:
    name = '聊天 "Chat"/../x;\\.csv'
    odd = make_service(name, pack_ids=("cn-xj-2014",))
    visitor.sign_in(officer)
    for path, suffix in (("servers.csv", "-servers.csv"), ("cbom.json", "-cbom.json")):
        answer = visitor.get(f"/console/compliance/services/{odd.service.id}/{path}")
        assert answer.status_code == 200
        disposition = answer.headers["content-disposition"]
        fallback = re.fullmatch(
            r'attachment; filename="([A-Za-z0-9._-]+)"; filename\*=(.+)', disposition
        )
        assert fallback, disposition
        assert fallback.group(1) == "____Chat__.._x__.csv" + suffix
        assert unquote(fallback.group(2).removeprefix("UTF-8''")) == name + suffix


BAD_PATHS = (
    ("GET", "/console/compliance/services/not-a-uuid/filings"),
    ("GET", "/console/compliance/services/{service}/filings/1/documents/2"),
    ("GET", "/console/compliance/services/{service}/filings/{random}/documents/x%27--"),
    ("POST", "/console/compliance/services/{service}/servers/..%2F..%2Fetc/remove"),
    ("POST", "/console/compliance/services/{service}/crypto/%3Cscript%3E/remove"),
    ("POST", "/console/compliance/services/{service}/residency/findings/0/resolve"),
    ("GET", "/console/compliance/services/%E2%80%AE/cbom.json"),
)


def test_bad_ids_in_paths_get_a_readable_page(visitor: Visitor, desk: Desk, officer: str) -> None:
    visitor.sign_in(officer)
    for method, pattern in BAD_PATHS:
        path = pattern.format(service=desk.service_id, random=uuid.uuid4())
        answer = (
            visitor.get(path)
            if method == "GET"
            else send(visitor, path, {"note": "x"}, "/console/compliance")
        )
        assert answer.status_code in {404, 422}, path
        readable(
            answer,
            answer.status_code,
            "not_found" if answer.status_code == 404 else "invalid_request",
        )
    missing = f"/console/compliance/services/{uuid.uuid4()}"
    for rest in ("filings", "servers", "servers.csv", "residency", "crypto", "cbom.json"):
        readable(visitor.get(f"{missing}/{rest}"), 404, "service_not_found")
    document = f"{base(desk)}/filings/{uuid.uuid4()}/documents/{uuid.uuid4()}"
    readable(visitor.get(document), 404, "filing_not_found")


UPLOADS = {"attach_document", "import_servers"}  # the writes that take a file


def writes(desk: Desk, some: str) -> dict[str, str]:
    """Every write of the register's pages (``some`` fills the ids of the path)."""
    root = base(desk)
    return {
        "record_filing": f"{root}/filings",
        "attach_document": f"{root}/filings/{some}/documents",
        "record_server": f"{root}/servers",
        "remove_server": f"{root}/servers/{some}/remove",
        "import_servers": f"{root}/servers/import",
        "check_residency": f"{root}/residency/check",
        "resolve_finding": f"{root}/residency/findings/{some}/resolve",
        "record_crypto": f"{root}/crypto",
        "remove_crypto": f"{root}/crypto/{some}/remove",
    }


def test_every_write_refuses_a_missing_or_forged_token(
    visitor: Visitor, desk: Desk, officer: str, database: Database
) -> None:
    visitor.sign_in(officer)
    before = log_size(database)
    for name, path in writes(desk, str(uuid.uuid4())).items():
        for token in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
            plain = visitor.client.post(path, data={**SERVER, **token}, follow_redirects=False)
            readable(plain, 403, "csrf_failed")
            if name in UPLOADS:
                files = {"file": ("a.csv", HEADER.encode(), "text/csv")}
                sent = visitor.client.post(path, data=token, files=files, follow_redirects=False)
                readable(sent, 403, "csrf_failed")
    assert log_size(database) == before


def test_an_auditor_reads_and_downloads_but_every_write_is_refused(
    visitor: Visitor, desk: Desk, officer: str, database: Database
) -> None:
    visitor.sign_in(officer)
    page = f"{base(desk)}/filings"
    send(visitor, page, FILING, page)
    add_server(visitor, desk, location="CN-BJ", gbt2260="")
    send(visitor, f"{base(desk)}/crypto", SM4, f"{base(desk)}/crypto")
    filing = ids(visitor.get(page).text, "filing")[0]
    server = ids(visitor.get(f"{base(desk)}/servers").text, "server")[0]
    finding = ids(visitor.get(f"{base(desk)}/residency").text, "finding")[0]
    asset = ids(visitor.get(f"{base(desk)}/crypto").text, "asset")[0]
    visitor.post("/console/logout", form_page=page)

    visitor.sign_in("auditor.one")
    dashboard = visitor.get(f"/console/compliance?service={desk.service_id}").text
    assert "Filings and their documents" in dashboard
    assert "Record filings and attach documents" not in dashboard
    for rest in ("filings", "servers", "residency", "crypto"):
        shown = visitor.get(f"{base(desk)}/{rest}")
        assert shown.status_code == 200, rest
        assert 'method="post" action="/console/compliance/services' not in shown.text, rest
    assert visitor.get(f"{base(desk)}/servers.csv").status_code == 200
    assert json.loads(visitor.get(f"{base(desk)}/cbom.json").text)["bomFormat"] == "CycloneDX"
    before = log_size(database)
    targets = {
        **writes(desk, str(uuid.uuid4())),
        "attach_document": f"{page}/{filing}/documents",
        "remove_server": f"{base(desk)}/servers/{server}/remove",
        "resolve_finding": f"{base(desk)}/residency/findings/{finding}/resolve",
        "remove_crypto": f"{base(desk)}/crypto/{asset}/remove",
    }
    for name, path in targets.items():
        answer = send(visitor, path, {**FILING, **SERVER, "note": "x"}, page)
        readable(answer, 403, "permission_denied", "Your role does not allow this page or action.")
        if name in UPLOADS:
            readable(upload(visitor, path, "a.pdf", PDF, page), 403, "permission_denied")
    assert log_size(database) == before


HOSTILE_FORMS: dict[str, tuple[str, dict[str, Any]]] = {
    "filing": ("filings", FILING),
    "server": ("servers", SERVER),
    "crypto": ("crypto", {**SM4, "parameter_set": "128", "curve": "x"}),
    "resolve": ("residency/findings/{finding}/resolve", {"note": "Agreed with the regulator."}),
}


@pytest.mark.parametrize("form", sorted(HOSTILE_FORMS))
def test_hostile_input_in_every_field_gets_a_clear_page(
    visitor: Visitor, desk: Desk, officer: str, form: str
) -> None:
    visitor.sign_in(officer)
    add_server(visitor, desk, name="abroad-1", location="DE-BE", gbt2260="")
    residency = f"{base(desk)}/residency"
    (finding,) = ids(visitor.get(residency).text, "finding")
    rest, valid = HOSTILE_FORMS[form]
    path = f"{base(desk)}/{rest.format(finding=finding)}"
    token_page = residency if form == "resolve" else path
    assert_hostile_fields_answered(
        visitor, path, valid, token_page=token_page, statuses={303, 404, 409, 422}
    )
    for shown in ("/console/compliance", f"{base(desk)}/{rest.split('/')[0]}"):
        page = visitor.get(shown if "?" in shown else f"{shown}?service={desk.service_id}")
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text
