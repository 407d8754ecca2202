"""Obligation statuses and due dates: computed from the register and the running system."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient

from trustdesk.compliance import filings, inventory, obligations, residency
from trustdesk.compliance import service as compliance
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import NewService
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import FilingKind

from support import assert_problem


def statuses(
    database: Database, packs: PackRegistry, service_id: uuid.UUID, **kwargs: Any
) -> dict[str, obligations.ObligationStatus]:
    with database.session() as session:
        rows = obligations.statuses(
            session,
            lambda sid: compliance.packs_for(session, packs, sid),
            service_id,
            checkpoint_interval_seconds=60,
            **kwargs,
        )
    return {f"{r.pack_id}:{r.obligation_id}": r for r in rows}


def outside(database: Database, packs: PackRegistry, service_id: uuid.UUID) -> None:
    with database.session() as session:
        inventory.record_server(
            session,
            packs,
            service_id,
            ServerIn(
                "fra-1", "data_store", "backup", "P", "DE-HE", None, ("identity",), ("CN-XJ",)
            ),
            by="dana",
        )


def test_a_new_service_owes_its_filings_with_the_art9_grace_period(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    found = statuses(database, packs, chat.service.id)
    today = utcnow().date()
    assert found["cn-xj-2014:service-filing"].status == "not_met"
    assert found["cn-xj-2014:service-filing"].due == today  # due from registration
    assert found["cn-xj-2014:service-filing"].due_soon
    assert found["cn-xj-2014:server-residency"].status == "unknown"  # no inventory yet
    assert found["cn-xj-2014:server-residency"].due == today + dt.timedelta(days=90)
    assert found["cn-xj-2014:crypto-filing"].status == "not_met"
    assert found["cn-xj-2014:crypto-filing"].due == today + dt.timedelta(days=90)
    assert not found["cn-xj-2014:crypto-filing"].due_soon  # 90 days away
    assert found["cn-xj-2014:real-name-registration"].status == "met"
    assert found["cn-xj-2014:service-termination"].status == "not_met"  # crypto filing missing
    assert found["cn-xj-2014:transition-deadline"].status == "not_met"
    later = statuses(database, packs, chat.service.id, now=utcnow() + dt.timedelta(days=91))
    assert later["cn-xj-2014:crypto-filing"].overdue
    assert later["cn-xj-2014:service-filing"].overdue


def test_a_filing_meets_art2_and_expiry_unmeets_it(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    with database.session() as session:
        filings.record_filing(
            session,
            chat.service.id,
            kind=FilingKind.FILING,
            number="ICP-0001",
            authority="Example Communications Administration",
            issued_on=utcnow().date() - dt.timedelta(days=10),
            expires_on=utcnow().date() + dt.timedelta(days=100),
            by="dana",
        )
    found = statuses(database, packs, chat.service.id)
    assert found["cn-xj-2014:service-filing"].status == "met"
    assert "ICP-0001" in found["cn-xj-2014:service-filing"].evidence[0]
    expired = statuses(database, packs, chat.service.id, now=utcnow() + dt.timedelta(days=101))
    assert expired["cn-xj-2014:service-filing"].status == "not_met"


def test_a_residency_finding_breaks_art3_and_stops_the_service_under_art8(
    database: Database, packs: PackRegistry, chat: NewService
) -> None:
    outside(database, packs, chat.service.id)
    found = statuses(database, packs, chat.service.id)
    residency_row = found["cn-xj-2014:server-residency"]
    assert residency_row.status == "not_met"
    assert "fra-1" in residency_row.evidence[0] and "server-residency" in residency_row.evidence[0]
    assert "server-residency" in found["cn-xj-2014:service-termination"].evidence[0]
    with database.session() as session:
        (finding,) = residency.open_residency_findings(session, chat.service.id)
        residency.resolve_finding(
            session, chat.service.id, finding.id, reason="moved to Urumqi", by="dana"
        )
    assert statuses(database, packs, chat.service.id)["cn-xj-2014:server-residency"].status == (
        "met"
    )


def test_the_api_serves_the_status_to_officers_only(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    moderator: dict[str, str],
) -> None:
    answer = client.get(f"/v1/compliance/services/{chat.service.id}", headers=officer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["service"] == "Chat"
    assert body["not_met"] >= 2
    assert {o["obligation"] for o in body["obligations"]} >= {"service-filing", "crypto-filing"}
    denied = client.get(f"/v1/compliance/services/{chat.service.id}", headers=moderator)
    assert_problem(denied, 403, "permission_denied")
    missing = client.get(f"/v1/compliance/services/{uuid.uuid4()}", headers=officer)
    assert_problem(missing, 404, "service_not_found")
    assert_problem(
        client.get("/v1/compliance/services/not-a-uuid", headers=officer), 422, "invalid_request"
    )
