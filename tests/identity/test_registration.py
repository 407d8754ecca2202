"""Real-name registration over HTTP: verified, rejected, duplicates, and the publishing gate."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.identity import service
from trustdesk.identity.models import Identity
from trustdesk.screening.models import ContentItem

from support import HOSTILE_STRINGS, ServiceFactory, assert_problem, bearer
from synthetic import ric

NUMBER = ric("110101", "19900307", "123")
OTHER = ric("310104", "19850612", "456")


def registration(subject: str, number: str = NUMBER, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": subject,
        "kind": "individual",
        "name": "测试 用户",
        "document": {"type": "cn.ric", "number": number},
    }
    body.update(extra)
    return body


@pytest.fixture
def key(make_service: ServiceFactory) -> str:
    return make_service("Chat", pack_ids=("cn-xj-2014",)).api_key


def test_a_valid_number_verifies_and_nothing_of_it_comes_back(client: TestClient, key: str) -> None:
    answer = client.post("/v1/identities", json=registration("acct-1"), headers=bearer(key))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "verified"
    assert body["reason"] is None
    assert NUMBER not in answer.text
    assert "测试" not in answer.text
    status = client.get("/v1/identities/acct-1", headers=bearer(key))
    assert status.status_code == 200
    assert status.json()["status"] == "verified"
    assert NUMBER not in status.text


def test_a_bad_check_character_is_rejected_with_a_reason(client: TestClient, key: str) -> None:
    bad = NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")
    answer = client.post("/v1/identities", json=registration("acct-2", bad), headers=bearer(key))
    assert answer.status_code == 200
    assert answer.json()["status"] == "rejected"
    assert answer.json()["reason"] == "invalid_checksum"
    assert bad not in answer.text
    assert client.get("/v1/identities/acct-2", headers=bearer(key)).json()["reason"] == (
        "invalid_checksum"
    )


def test_a_number_bound_to_another_subject_is_a_duplicate(
    client: TestClient, key: str, database: Database
) -> None:
    assert (
        client.post("/v1/identities", json=registration("a"), headers=bearer(key)).status_code
        == 201
    )
    again = client.post("/v1/identities", json=registration("b"), headers=bearer(key))
    assert_problem(again, 409, "identity_duplicate")
    assert NUMBER not in again.text
    # the 15-digit legacy form of the same person is the same number
    legacy = NUMBER[:6] + NUMBER[8:17]
    assert_problem(
        client.post("/v1/identities", json=registration("c", legacy), headers=bearer(key)),
        409,
        "identity_duplicate",
    )
    with database.session() as session:
        held = session.scalars(select(Identity.subject).order_by(Identity.subject)).all()
    assert held == ["a"]


def test_the_same_number_in_another_service_is_not_a_duplicate(
    client: TestClient, make_service: ServiceFactory
) -> None:
    first = make_service("One").api_key
    second = make_service("Two").api_key
    for key in (first, second):
        answer = client.post("/v1/identities", json=registration("x"), headers=bearer(key))
        assert answer.status_code == 201


def test_registering_again_is_idempotent_but_a_new_number_needs_erasure(
    client: TestClient, key: str
) -> None:
    for _ in range(2):
        answer = client.post("/v1/identities", json=registration("d"), headers=bearer(key))
        assert answer.json()["status"] == "verified"
    assert_problem(
        client.post("/v1/identities", json=registration("d", OTHER), headers=bearer(key)),
        409,
        "identity_exists",
    )
    # a failed attempt never downgrades a verified identity
    rejected = client.post("/v1/identities", json=registration("d", "123"), headers=bearer(key))
    assert rejected.json()["status"] == "rejected"
    assert client.get("/v1/identities/d", headers=bearer(key)).json()["status"] == "verified"


def test_the_pack_decides_which_documents_are_accepted(
    client: TestClient, key: str, make_service: ServiceFactory
) -> None:
    as_company = registration("e", kind="organisation")
    answer = client.post("/v1/identities", json=as_company, headers=bearer(key))
    assert answer.json() | {"verified_at": None} == {
        "subject": "e",
        "status": "rejected",
        "kind": "organisation",
        "document_type": "cn.ric",
        "reason": "document_type_not_accepted",
        "verified_at": None,
        "erase_after": None,
    }
    eu_only = make_service("EU", pack_ids=("eu-dsa",)).api_key
    free = client.post("/v1/identities", json=as_company, headers=bearer(eu_only))
    assert free.json()["status"] == "verified"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"document": {"type": "xx.unknown", "number": NUMBER}}, "invalid_identity"),
        ({"document": {"type": "cn.ric", "number": ""}}, "invalid_identity"),
        ({"document": {"type": "cn.ric", "number": "1" * 201}}, "invalid_request"),
        ({"name": "   "}, "invalid_identity"),
        ({"name": "x" * 201}, "invalid_request"),
        ({"subject": ""}, "invalid_identity"),
        ({"kind": "robot"}, "invalid_request"),
        ({"extra": 1}, "invalid_request"),
    ],
)
def test_malformed_registrations_get_a_clear_error(
    client: TestClient, key: str, change: dict[str, Any], code: str
) -> None:
    answer = client.post("/v1/identities", json=registration("f") | change, headers=bearer(key))
    body = assert_problem(answer, 422, code)
    assert NUMBER not in json.dumps(body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"document": {"type": "xx.unknown", "number": NUMBER}}, "document.type"),
        ({"document": {"type": "cn.ric", "number": ""}}, "document.number"),
        ({"name": "   "}, "name"),
        ({"subject": ""}, "subject"),
    ],
)
def test_a_refused_registration_names_its_field(
    client: TestClient, key: str, change: dict[str, Any], field: str
) -> None:
    answer = client.post("/v1/identities", json=registration("f") | change, headers=bearer(key))
    assert assert_problem(answer, 422, "invalid_identity")["field"] == field


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_names_and_subjects_never_break_the_server(
    client: TestClient, key: str, hostile: str
) -> None:
    for body in (registration(hostile[:200]), registration("g", name=hostile[:200])):
        answer = client.post(  # json.dumps escapes lone surrogates, which UTF-8 cannot carry
            "/v1/identities",
            content=json.dumps(body),
            headers={**bearer(key), "content-type": "application/json"},
        )
        assert answer.status_code in {201, 200, 409, 422}, answer.text
        assert NUMBER not in answer.text


def test_identity_routes_need_a_service_key(client: TestClient, key: str) -> None:
    assert_problem(client.post("/v1/identities", json=registration("h")), 401, "unauthenticated")
    assert_problem(client.get("/v1/identities/h", headers=bearer(key)), 404, "identity_not_found")


def screen(client: TestClient, key: str, subject: str | None, text: str = "hello there") -> Any:
    body: dict[str, Any] = {"content": {"id": "m1", "text": text}}
    if subject is not None:
        body["subject"] = subject
    answer = client.post("/v1/screen", json=body, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_gate_blocks_unverified_and_anonymous_subjects_and_stores_nothing(
    client: TestClient, key: str, database: Database
) -> None:
    for subject in ("nobody", None):
        verdict = screen(client, key, subject)
        assert verdict["verdict"] == "block"
        assert verdict["findings"] == [
            {
                "rule": "identity_required",
                "category": "identity_required",
                "action": "block",
                "mode": "enforce",
                "start": 0,
                "end": len("hello there"),
                "signal": "text.terms",
                "bank_id": None,
                "entry_id": None,
                "distance": None,
            }
        ]
        assert verdict["item_id"] is None
    client.post("/v1/identities", json=registration("verified-one"), headers=bearer(key))
    assert screen(client, key, "verified-one")["verdict"] == "allow"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ContentItem)) == 0


def test_no_gate_where_no_pack_requires_real_names(
    client: TestClient, make_service: ServiceFactory
) -> None:
    eu_only = make_service("EU only", pack_ids=("eu-dsa",)).api_key
    assert screen(client, eu_only, None)["verdict"] == "allow"
    assert screen(client, eu_only, "anyone")["verdict"] == "allow"


def test_erasure_closes_the_gate_and_purge_shreds_the_identity(
    client: TestClient, key: str, database: Database
) -> None:
    client.post("/v1/identities", json=registration("leaver"), headers=bearer(key))
    erased = client.delete("/v1/identities/leaver", headers=bearer(key))
    assert erased.json()["status"] == "erasure_pending"
    assert screen(client, key, "leaver")["verdict"] == "block"
    with database.session() as session:
        assert service.purge_due(session) == []  # retention not over yet
        later = utcnow() + timedelta(days=181)
        dry = service.purge_due(session, dry_run=True, now=later)
        assert [v.subject for v in dry] == ["leaver"]
        assert [v.subject for v in service.purge_due(session, now=later)] == ["leaver"]
        row = session.scalar(select(Identity).where(Identity.subject == "leaver"))
        assert row is not None
        assert (row.wrapped_key, row.ciphertext, row.blind_index) == (None, None, None)
    assert client.get("/v1/identities/leaver", headers=bearer(key)).json()["status"] == "erased"
    # the number is free again once its holder is erased
    again = client.post("/v1/identities", json=registration("newcomer"), headers=bearer(key))
    assert again.json()["status"] == "verified"
