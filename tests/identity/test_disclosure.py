"""Disclosure by legal process: request, two approvals by others, one reveal, all logged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.identity.models import DisclosureRequest, Identity
from trustdesk.permissions import Role
from trustdesk.records.models import LogEntry

from support import ServiceFactory, assert_problem, bearer, token_for
from synthetic import ric

NUMBER = ric("440305", "19920101", "007")
NAME = "示例 人名"


class Desk:
    """A service with one verified subject, and the people of a disclosure."""

    def __init__(
        self, client: TestClient, database: Database, make_service: ServiceFactory
    ) -> None:
        created = make_service("Disclosing")
        self.client = client
        self.service_id = str(created.service.id)
        self.key = created.api_key
        body = {
            "subject": "target",
            "kind": "individual",
            "name": NAME,
            "document": {"type": "cn.ric", "number": NUMBER},
        }
        assert client.post("/v1/identities", json=body, headers=bearer(self.key)).status_code == 201
        self.officer = token_for(database, "officer", Role.COMPLIANCE_OFFICER)
        self.approver1 = token_for(database, "approver1", Role.DISCLOSURE_APPROVER)
        self.approver2 = token_for(database, "approver2", Role.DISCLOSURE_APPROVER)
        self.moderator = token_for(database, "moderator", Role.MODERATOR)

    def request(self, subjects: list[str] | None = None, token: str | None = None) -> Any:
        body = {
            "service_id": self.service_id,
            "authority": "Example City Public Security Bureau",
            "legal_basis": "Criminal Procedure Law art. 54",
            "reference": "ECPSB-2026-0042",
            "subjects": subjects if subjects is not None else ["target", "unknown-subject"],
        }
        return self.client.post("/v1/disclosures", json=body, headers=bearer(token or self.officer))

    def vote(
        self, disclosure_id: str, token: str, verb: str = "approve", reason: str | None = None
    ) -> Any:
        return self.client.post(
            f"/v1/disclosures/{disclosure_id}/{verb}",
            json={"reason": reason},
            headers=bearer(token),
        )

    def reveal(self, disclosure_id: str, token: str | None = None) -> Any:
        return self.client.post(
            f"/v1/disclosures/{disclosure_id}/reveal", headers=bearer(token or self.officer)
        )


@pytest.fixture
def desk(client: TestClient, database: Database, make_service: ServiceFactory) -> Desk:
    return Desk(client, database, make_service)


def log_types(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))


def test_two_other_approvers_then_one_reveal_to_the_requester(
    desk: Desk, database: Database
) -> None:
    created = desk.request()
    assert created.status_code == 201, created.text
    disclosure = created.json()
    assert disclosure["status"] == "pending"
    assert disclosure["approvals_required"] == 2
    did = disclosure["id"]
    assert_problem(desk.reveal(did), 409, "disclosure_closed")  # not approved yet
    assert desk.vote(did, desk.approver1).json()["status"] == "pending"
    approved = desk.vote(did, desk.approver2).json()
    assert approved["status"] == "approved"
    assert [v["username"] for v in approved["votes"]] == ["approver1", "approver2"]
    assert_problem(desk.reveal(did, desk.approver1), 403, "permission_denied")
    revealed = desk.reveal(did)
    assert revealed.status_code == 200
    assert revealed.headers["cache-control"] == "no-store"
    identities = {i["subject"]: i for i in revealed.json()["identities"]}
    assert identities["target"]["number"] == NUMBER
    assert identities["target"]["name"] == NAME
    assert identities["unknown-subject"] == {
        "subject": "unknown-subject",
        "found": False,
        "status": None,
        "kind": None,
        "document_type": None,
        "name": None,
        "number": None,
    }
    assert_problem(desk.reveal(did), 409, "disclosure_closed")  # once only
    types = log_types(database)
    assert types[-4:] == [
        "identity:disclosure:requested",
        "identity:disclosure:approved",
        "identity:disclosure:approved",
        "identity:disclosure:revealed",
    ]
    with database.session() as session:
        leaves = b"".join(session.scalars(select(LogEntry.leaf)))
    assert NUMBER.encode() not in leaves
    assert NAME.encode() not in leaves
    assert b"ECPSB-2026-0042" not in leaves  # only its digest


def test_the_requester_may_not_approve_and_nobody_votes_twice(
    desk: Desk, database: Database
) -> None:
    admin = token_for(database, "both-roles", Role.COMPLIANCE_OFFICER, Role.DISCLOSURE_APPROVER)
    did = desk.request(token=admin).json()["id"]
    assert_problem(desk.vote(did, admin), 403, "disclosure_self_approval")
    desk.vote(did, desk.approver1)
    assert_problem(desk.vote(did, desk.approver1), 409, "disclosure_closed")
    assert_problem(desk.vote(did, desk.officer), 403, "permission_denied")
    assert desk.client.get(f"/v1/disclosures/{did}", headers=bearer(admin)).json()["status"] == (
        "pending"
    )


def test_one_rejection_closes_the_request_and_needs_a_reason(desk: Desk) -> None:
    did = desk.request().json()["id"]
    assert_problem(desk.vote(did, desk.approver1, "reject"), 422, "invalid_disclosure")
    rejected = desk.vote(did, desk.approver1, "reject", "no court order attached")
    assert rejected.json()["status"] == "rejected"
    assert_problem(desk.vote(did, desk.approver2), 409, "disclosure_closed")
    assert_problem(desk.reveal(did), 409, "disclosure_closed")


def test_an_approved_request_expires_unrevealed(desk: Desk, database: Database) -> None:
    did = desk.request().json()["id"]
    desk.vote(did, desk.approver1)
    desk.vote(did, desk.approver2)
    with database.session() as session:
        session.execute(
            update(DisclosureRequest).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert_problem(desk.reveal(did), 409, "disclosure_closed")
    got = desk.client.get(f"/v1/disclosures/{did}", headers=bearer(desk.officer)).json()
    assert got["status"] == "expired"
    assert log_types(database)[-1] == "identity:disclosure:expired"


def test_no_bulk_disclosure_and_no_disclosure_by_the_wrong_people(desk: Desk) -> None:
    too_many = [f"s{i}" for i in range(11)]
    broad = assert_problem(desk.request(too_many), 422, "disclosure_too_broad")
    assert broad["field"] == "subjects"
    assert assert_problem(desk.request([]), 422, "invalid_disclosure")["field"] == "subjects"
    assert_problem(desk.request(token=desk.moderator), 403, "permission_denied")
    assert_problem(desk.request(token=desk.key), 403, "permission_denied")  # services may not
    assert_problem(
        desk.client.get("/v1/disclosures", headers=bearer(desk.moderator)), 403, "permission_denied"
    )
    listed = desk.client.get("/v1/disclosures", headers=bearer(desk.approver1))
    assert listed.status_code == 200
    assert listed.json() == []


def test_a_ciphertext_moved_to_another_row_does_not_open(desk: Desk, database: Database) -> None:
    body = {
        "subject": "second",
        "kind": "individual",
        "name": "另一 个人",
        "document": {"type": "cn.ric", "number": ric("110101", "19800101", "002")},
    }
    desk.client.post("/v1/identities", json=body, headers=bearer(desk.key))
    with database.session() as session:
        rows = {r.subject: r for r in session.scalars(select(Identity))}
        target, second = rows["target"], rows["second"]
        target.kek_id, target.wrapped_key = second.kek_id, second.wrapped_key
        target.nonce, target.ciphertext = second.nonce, second.ciphertext
        session.commit()
    did = desk.request(["target"]).json()["id"]
    desk.vote(did, desk.approver1)
    desk.vote(did, desk.approver2)
    revealed = desk.reveal(did).json()["identities"]
    assert revealed[0]["status"] == "unreadable"
    assert revealed[0]["number"] is None
    assert "另一" not in json.dumps(revealed)


def test_a_refused_reveal_records_the_expiry_it_finds(desk: Desk, database: Database) -> None:
    did = desk.request().json()["id"]
    desk.vote(did, desk.approver1)
    desk.vote(did, desk.approver2)
    with database.session() as session:
        session.execute(
            update(DisclosureRequest).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert_problem(desk.reveal(did), 409, "disclosure_closed")
    # nothing else has looked at it since: the refusal itself kept the expiry
    assert log_types(database)[-1] == "identity:disclosure:expired"
    with database.session() as session:
        row = session.scalars(select(DisclosureRequest)).one()
        assert row.status == "expired"
    assert_problem(desk.reveal(did), 409, "disclosure_closed")
    assert log_types(database).count("identity:disclosure:expired") == 1


def test_a_row_given_another_subject_does_not_open_as_them(desk: Desk, database: Database) -> None:
    """The sealed identity is bound to its subject: a row moved to a subject that holds none
    (its ciphertext, id and service unchanged) reveals nothing under that name."""
    body = {
        "subject": "second",
        "kind": "individual",
        "name": "另一 个人",
        "document": {"type": "cn.ric", "number": ric("110101", "19800101", "002")},
    }
    desk.client.post("/v1/identities", json=body, headers=bearer(desk.key))
    with database.session() as session:
        moved = session.scalars(select(Identity).where(Identity.subject == "second")).one()
        assert moved.seal_version == 2
        moved.subject = "someone-else"
        session.commit()
    did = desk.request(["someone-else", "target"]).json()["id"]
    desk.vote(did, desk.approver1)
    desk.vote(did, desk.approver2)
    revealed = {i["subject"]: i for i in desk.reveal(did).json()["identities"]}
    assert revealed["someone-else"]["status"] == "unreadable"
    assert revealed["someone-else"]["number"] is None
    assert "另一" not in json.dumps(revealed)
    assert revealed["target"]["number"] == NUMBER  # rows left alone still open
