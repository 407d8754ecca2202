"""``/v1/banks`` over HTTP: a service's own banks, shared ones read only, files in and out."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient
from tests.support import ServiceFactory, assert_problem, bearer, token_for

from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry, add
from trustdesk.banks.service import NewBank, create
from trustdesk.banks.values import Signal
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry

MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(5)]  # noqa: S324
BANK = {"name": "known", "signal": "file.md5", "category": "art6.6", "action": "block"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_service_manages_its_banks_and_never_sees_anothers(
    client: TestClient, make_service: ServiceFactory, database: Database, packs: PackRegistry
) -> None:
    a, b = bearer(make_service().api_key), bearer(make_service().api_key)
    bank = _ok(client.post("/v1/banks", json=BANK, headers=a), 201)
    assert (bank["shared"], bank["threshold"], bank["enabled"]) == (False, None, True)
    assert_problem(client.post("/v1/banks", json=BANK, headers=a), 409, "bank_name_taken")
    assert_problem(
        client.post("/v1/banks", json={**BANK, "category": "art6.1", "name": "x"}, headers=a),
        422,
        "category_not_automated",
    )
    url = f"/v1/banks/{bank['id']}"
    added = _ok(client.post(f"{url}/entries", json={"entries": [{"value": MD5[0]}]}, headers=a))
    assert (added["added"], added["bank"]["entry_count"]) == (1, 1)
    bad = client.post(f"{url}/entries", json={"entries": [{"value": "xyz"}]}, headers=a)
    assert assert_problem(bad, 422, "invalid_bank_value")["field"] == "entries.0.value"
    # Service B: A's bank is exactly like a missing one, whatever it tries.
    _ok(client.post("/v1/banks", json=BANK, headers=b), 201)  # the same name is B's to use
    assert [x["name"] for x in _ok(client.get("/v1/banks", headers=b))] == ["known"]
    assert all(x["id"] != bank["id"] for x in _ok(client.get("/v1/banks", headers=b)))
    for answer in [
        client.get(url, headers=b),
        client.patch(url, json={"enabled": False}, headers=b),
        client.post(f"{url}/entries", json={"entries": [{"value": MD5[1]}]}, headers=b),
        client.post(f"{url}/entries/remove", json={"values": [MD5[0]]}, headers=b),
        client.post(
            f"{url}/import", params={"format": "pytx"}, files={"file": ("f", MD5[2])}, headers=b
        ),
        client.get(f"{url}/export", params={"format": "pytx"}, headers=b),
    ]:
        assert_problem(answer, 404, "bank_not_found")
    assert _ok(client.get(url, headers=a))["entry_count"] == 1
    # A shared bank: listed and read, never changed by a service.
    with database.session() as session:
        shared = create(
            session, Actor.operator(), NewBank("hq", Signal.FILE_MD5, "art6.6"), packs=packs.all()
        )
        add(session, Actor.operator(), shared.id, [NewEntry(MD5[4])])
    assert [x["name"] for x in _ok(client.get("/v1/banks", headers=a))] == ["known", "hq"]
    shared_url = f"/v1/banks/{shared.id}"
    assert _ok(client.get(shared_url, headers=b))["shared"] is True
    export = client.get(f"{shared_url}/export", params={"format": "pytx"}, headers=a)
    assert export.text == f"video_md5 {MD5[4]}\n"
    refused = client.patch(shared_url, json={"enabled": False}, headers=a)
    assert_problem(refused, 403, "bank_read_only")
    refused = client.post(f"{shared_url}/entries", json={"entries": [{"value": MD5[1]}]}, headers=a)
    assert_problem(refused, 403, "bank_read_only")


def test_import_is_all_or_nothing_and_export_reads_back(
    client: TestClient, make_service: ServiceFactory
) -> None:
    a = bearer(make_service().api_key)
    bank = _ok(client.post("/v1/banks", json=BANK, headers=a), 201)
    url = f"/v1/banks/{bank['id']}"
    junk = f"{MD5[0]}\r\n{MD5[1]}\r\nnot a hash\r\n".encode()
    answer = client.post(
        f"{url}/import", params={"format": "pytx"}, files={"file": ("list.txt", junk)}, headers=a
    )
    body = assert_problem(answer, 422, "invalid_bank_file")
    assert "list.txt:3:1:" in body["detail"]
    assert _ok(client.get(url, headers=a))["entry_count"] == 0
    csv = "\ufeffsignal_type,signal_val,note\r\n" + "".join(
        f"video_md5,{v},note {n}\r\n" for n, v in enumerate(MD5[:3])
    )
    imported = _ok(
        client.post(
            f"{url}/import",
            params={"format": "hma-csv"},
            files={"file": ("bank.csv", csv.encode())},
            headers=a,
        )
    )
    assert (imported["added"], imported["change"] is not None) == (3, True)
    removed = _ok(client.post(f"{url}/entries/remove", json={"values": [MD5[1]]}, headers=a))
    assert removed["removed"] == 1
    twice = client.post(f"{url}/entries/remove", json={"values": [MD5[0], MD5[0]]}, headers=a)
    assert assert_problem(twice, 422, "duplicate_value")["field"] == "values.1"
    export = client.get(f"{url}/export", params={"format": "hma-csv"}, headers=a)
    assert export.status_code == 200 and "known.csv" in export.headers["content-disposition"]
    header, *rows = export.text.splitlines()
    assert header == "signal_type,signal_val,note"
    assert sorted(rows) == sorted(
        f"video_md5,{v},note {n}" for n, v in enumerate(MD5[:3]) if n != 1
    )
    before = client.get(
        f"{url}/export", params={"format": "pytx", "at": removed["bank"]["created_at"]}, headers=a
    )
    assert before.status_code == 200 and before.text == ""  # nothing held at its creation
    disabled = _ok(client.patch(url, json={"enabled": False}, headers=a))
    assert disabled["enabled"] is False and disabled["entry_count"] == 2


def test_staff_manage_shared_banks_by_permission(
    client: TestClient, make_service: ServiceFactory, database: Database
) -> None:
    admin = bearer(token_for(database, "banks.admin", Role.ADMIN))
    auditor = bearer(token_for(database, "banks.auditor", Role.AUDITOR))
    moderator = bearer(token_for(database, "banks.moderator", Role.MODERATOR))
    service = bearer(make_service().api_key)
    shared = _ok(client.post("/v1/banks", json={**BANK, "name": "hq"}, headers=admin), 201)
    assert shared["shared"] is True and shared["owner_id"] is None
    url = f"/v1/banks/{shared['id']}"
    _ok(client.post(f"{url}/entries", json={"entries": [{"value": MD5[3]}]}, headers=admin))
    assert _ok(client.get(url, headers=auditor))["entry_count"] == 1
    assert [b["name"] for b in _ok(client.get("/v1/banks", headers=service))] == ["hq"]
    assert_problem(
        client.patch(url, json={"enabled": False}, headers=auditor), 403, "permission_denied"
    )
    assert_problem(client.get("/v1/banks", headers=moderator), 403, "permission_denied")
    assert_problem(client.post("/v1/banks", json=BANK, headers=auditor), 403, "permission_denied")
    assert _ok(client.patch(url, json={"enabled": False}, headers=admin))["enabled"] is False
