"""Servers and data stores (art. 3): the API, CSV import and export with hostile files."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from trustdesk.compliance import inventory, inventory_csv
from trustdesk.compliance.service import NewService
from trustdesk.db.engine import Database
from trustdesk.errors import SourceError
from trustdesk.policy.service import PackRegistry

from support import assert_problem

HEADER = "name,kind,role,provider,location,gbt2260,data_classes,populations\n"
GOOD = (
    HEADER
    + "urumqi-app-1,server,web,Xinjiang Cloud,CN-XJ,650102,content;logs,CN-XJ\n"
    + "urumqi-db-1,data_store,primary database,Xinjiang Cloud,CN-XJ,650100,identity;content,CN\n"
)


def server(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "urumqi-app-1",
        "kind": "server",
        "role": "web",
        "provider": "Xinjiang Cloud",
        "location": "CN-XJ",
        "gbt2260": "650102",
        "data_classes": ["content", "logs"],
        "populations": ["CN-XJ"],
    }
    return {**base, **changes}


def url(service: NewService, rest: str = "") -> str:
    return f"/v1/compliance/services/{service.service.id}{rest}"


def import_file(
    client: TestClient, service: NewService, headers: dict[str, str], content: bytes
) -> object:
    files = {"file": ("servers.csv", content, "text/csv")}
    return client.post(url(service, "/servers/import"), files=files, headers=headers)


def test_an_officer_adds_lists_and_removes_servers(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    response = client.post(url(chat, "/servers"), json=server(), headers=officer)
    assert response.status_code == 201, response.text
    added = response.json()
    assert added["server"]["location"] == "CN-XJ"
    assert added["server"]["gbt2260"] == "650102"
    assert added["server"]["data_classes"] == ["content", "logs"]
    assert added["residency"] == {
        "servers": 1,
        "rules": ["cn-xj-2014/server-residency"],
        "opened": [],
        "resolved": [],
        "open": [],
        "compliant": True,
    }
    listed = client.get(url(chat, "/servers"), headers=officer).json()
    assert [s["name"] for s in listed] == ["urumqi-app-1"]
    again = client.post(url(chat, "/servers"), json=server(), headers=officer)
    assert_problem(again, 409, "server_exists")
    gone = client.delete(url(chat, f"/servers/{added['server']['id']}"), headers=officer)
    assert gone.status_code == 200
    assert client.get(url(chat, "/servers"), headers=officer).json() == []
    assert_problem(
        client.delete(url(chat, f"/servers/{added['server']['id']}"), headers=officer),
        404,
        "server_not_found",
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"location": "XX-YY"}, "invalid_location"),
        ({"location": "CN"}, "invalid_location"),
        ({"gbt2260": "110105"}, "invalid_location"),
        ({"gbt2260": "65010"}, "invalid_location"),
        ({"location": "US-CA", "gbt2260": "650102"}, "invalid_location"),
        ({"populations": []}, "invalid_register_entry"),
        ({"populations": ["Mars"]}, "invalid_location"),
        ({"data_classes": ["secrets"]}, "invalid_request"),
        ({"kind": "mainframe"}, "invalid_request"),
        ({"name": ""}, "invalid_register_entry"),
        ({"name": "a\x00b"}, "invalid_request"),  # NUL: refused before any service
        ({"name": "x" * 600}, "invalid_request"),
        ({"role": "\u202etxt"}, "invalid_register_entry"),
        ({"populations": ["CN"] * 51}, "invalid_request"),
        ({"ip": "10.0.0.1"}, "invalid_request"),
    ],
)
def test_bad_servers_are_refused(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    changes: dict[str, object],
    code: str,
) -> None:
    response = client.post(url(chat, "/servers"), json=server(**changes), headers=officer)
    assert_problem(response, 422, code)
    assert client.get(url(chat, "/servers"), headers=officer).json() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"role": "\u202etxt"}, "role"),
        ({"provider": " "}, "provider"),
        ({"location": "XX-ZZ"}, "location"),
        ({"location": "US-CA", "gbt2260": "650102"}, "gbt2260"),
        ({"gbt2260": "990000"}, "gbt2260"),
        ({"populations": []}, "populations"),
        ({"populations": ["nowhere"]}, "populations"),
    ],
)
def test_a_refused_server_names_its_field(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    changes: dict[str, object],
    field: str,
) -> None:
    response = client.post(url(chat, "/servers"), json=server(**changes), headers=officer)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.text
    taken = client.post(url(chat, "/servers"), json=server(), headers=officer)
    assert taken.status_code == 201, taken.text
    again = client.post(url(chat, "/servers"), json=server(), headers=officer)
    assert assert_problem(again, 409, "server_exists")["field"] == "name"


def test_csv_import_then_export_round_trips(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    response = import_file(client, chat, officer, GOOD.encode())
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    assert response.json()["residency"]["compliant"] is True
    exported = client.get(url(chat, "/servers.csv"), headers=officer)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["name"] for r in rows] == ["urumqi-app-1", "urumqi-db-1"]
    assert rows[1]["populations"] == "CN"
    again = import_file(client, chat, officer, exported.content)
    assert again.json()["created"] == 0
    assert again.json()["updated"] == 2
    assert client.get(url(chat, "/servers.csv"), headers=officer).text == exported.text


def test_import_updates_servers_by_name(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    import_file(client, chat, officer, GOOD.encode())
    moved = HEADER + "urumqi-db-1,data_store,primary database,Xinjiang Cloud,CN-XJ,650100,logs,CN\n"
    result = import_file(client, chat, officer, moved.encode()).json()
    assert (result["created"], result["updated"]) == (0, 1)
    listed = {s["name"]: s for s in client.get(url(chat, "/servers"), headers=officer).json()}
    assert listed["urumqi-db-1"]["data_classes"] == ["logs"]
    assert set(listed) == {"urumqi-app-1", "urumqi-db-1"}


MALFORMED = (
    HEADER
    + "ok-1,server,web,P,CN-XJ,,content,CN-XJ\n"
    + "bad-location,server,web,P,XX-YY,,content,CN-XJ\n"
    + "bad-kind,router,web,P,CN-XJ,,content,CN-XJ\n"
    + "short,row\n"
    + '"multi\nline",server,web,P,CN-XJ,,content,CN-XJ\n'
    + "ok-1,server,web,P,CN-XJ,,content,CN-XJ\n"
    + "bad-division,server,web,P,CN-XJ,110000,content,CN-XJ\n"
    + "no-users,server,web,P,CN-XJ,,content,\n"
)


def test_malformed_rows_are_reported_by_line_and_nothing_is_imported(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    response = import_file(client, chat, officer, MALFORMED.encode())
    body = assert_problem(response, 422, "invalid_source")
    lines = [(e["line"], e["message"]) for e in body["errors"]]
    assert [line for line, _ in lines] == [3, 4, 5, 6, 8, 9, 10]
    assert "XX-YY" in lines[0][1]
    assert "router" in lines[1][1]
    assert "2 cells" in lines[2][1]
    assert "control" in lines[3][1]
    assert "line 2" in lines[4][1]
    assert "CN-BJ" in lines[5][1]
    assert "population" in lines[6][1]
    assert client.get(url(chat, "/servers"), headers=officer).json() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header row"),
        (b"\n\n", "no header row"),
        (HEADER.encode(), "lists no servers"),
        (b"name,kind,colour\n", "unknown column"),
        (b"name,name,kind,role,provider,location,populations\n", "named twice"),
        (b"name,kind\n", "missing column"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "not UTF-8"),
        (HEADER.encode() + b"a,server,r,p,CN-XJ,,,\xe2\x82\n", "not UTF-8"),
        (HEADER.encode() + b'"unterminated,server', "not CSV"),
        (HEADER.encode() + b"a,server,r,p,CN-XJ,,,CN\x00\n", "ISO 3166"),
    ],
)
def test_hostile_csv_files_are_refused(content: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        inventory_csv.read(content, "servers.csv")


def test_oversized_and_overlong_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(inventory_csv.InventoryTooLarge):
        inventory_csv.read(b"x" * (inventory_csv.MAX_BYTES + 1))
    monkeypatch.setattr(inventory_csv, "MAX_ROWS", 3)
    rows = "".join(f"s{i},server,r,p,CN-XJ,,,CN\n" for i in range(4))
    with pytest.raises(inventory_csv.InventoryTooLarge, match="at most 3"):
        inventory_csv.read((HEADER + rows).encode())


def test_problems_stop_at_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_csv, "MAX_PROBLEMS", 5)
    rows = "".join(f"s{i},server,r,p,XX-YY,,,CN\n" for i in range(100))
    with pytest.raises(SourceError) as caught:
        inventory_csv.read((HEADER + rows).encode())
    assert len(caught.value.problems) == 6
    assert caught.value.problems[-1].message == "too many problems; stopped"


def test_oversized_uploads_are_refused_over_http(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    content = (HEADER + "a,server,r,p,CN-XJ,,,CN\n" * 60_000).encode()
    assert_problem(import_file(client, chat, officer, content), 413, "payload_too_large")


FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")')


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(HEADER.strip().split(","))
    for i, formula in enumerate(FORMULAS):
        writer.writerow([f"{formula}{i}", "server", formula, formula, "CN-XJ", "", "", "CN"])
    with database.session() as session:
        inventory.import_csv(session, packs, chat.service.id, rows.getvalue().encode(), by="dana")
        exported = inventory.export_csv(session, chat.service.id)
        names = {s.name for s in inventory.list_servers(session, chat.service.id)}
    assert names == {f"{f}{i}" for i, f in enumerate(FORMULAS)}
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert "'=cmd|' /C calc'!A0" in cells
    with database.session() as session:
        again = inventory.import_csv(session, packs, chat.service.id, exported.encode(), by="d")
        assert (again.created, again.updated) == (0, len(FORMULAS))
        assert {s.name for s in inventory.list_servers(session, chat.service.id)} == names
        assert {s.role for s in inventory.list_servers(session, chat.service.id)} == set(FORMULAS)


def test_the_inventory_needs_the_register_permissions(
    client: TestClient, chat: NewService, moderator: dict[str, str], auditor: dict[str, str]
) -> None:
    assert_problem(client.get(url(chat, "/servers"), headers=moderator), 403, "permission_denied")
    assert client.get(url(chat, "/servers.csv"), headers=auditor).status_code == 200
    assert_problem(
        client.post(url(chat, "/servers"), json=server(), headers=auditor), 403, "permission_denied"
    )
    assert_problem(import_file(client, chat, auditor, GOOD.encode()), 403, "permission_denied")
