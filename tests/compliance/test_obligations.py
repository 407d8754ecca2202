"""Obligation statuses and due dates: computed from the register and the running system."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from trustdesk.app import create_app
from trustdesk.compliance import filings, inventory, obligations, residency
from trustdesk.compliance import service as compliance
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import NewService
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import FilingKind
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.keys import load_or_create_signer
from trustdesk.settings import Settings

from support import assert_problem

PRESERVATION = "cn-xj-2014:record-preservation"
HOUR = dt.timedelta(hours=1)
ORIGIN = "trustdesk.local/log"  # the settings' default


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


def _log_with_an_idle_hour(
    database: Database, key: Path, moment: dt.datetime, waited: dt.timedelta
) -> int:
    """A log whose last checkpoint was signed an hour ago, then one entry ``waited`` ago."""
    signer = load_or_create_signer(key, ORIGIN)
    with database.session() as session:
        records.make_checkpoint(session, signer, ORIGIN, now=moment - HOUR)
        session.commit()
        appended = records.append(
            session,
            EventType.SCREENING_RULESET_DEPLOYED,
            service_id=None,
            data={},
            now=moment - waited,
        )
        session.commit()
    return appended.index


def test_a_fresh_entry_after_an_idle_hour_leaves_record_preservation_met(
    database: Database, packs: PackRegistry, chat: NewService, tmp_path: Path
) -> None:
    moment = utcnow()
    index = _log_with_an_idle_hour(database, tmp_path / "log.key", moment, dt.timedelta(seconds=5))
    row = statuses(database, packs, chat.service.id, now=moment)[PRESERVATION]
    assert row.status == "met", row.evidence
    assert (
        row.evidence[-1]
        == "1 entry awaiting the next checkpoint, the oldest for 5 s (at most 120 s)"
    )
    assert f"latest checkpoint of size {index}, signed 3600 s ago" in row.evidence


def test_record_preservation_is_not_met_when_an_entry_waits_too_long_and_says_why(
    settings: Settings,
    database: Database,
    packs: PackRegistry,
    chat: NewService,
    officer: dict[str, str],
) -> None:
    moment = utcnow()
    key = settings.log_signing_key_path
    index = _log_with_an_idle_hour(database, key, moment, dt.timedelta(seconds=300))
    row = statuses(database, packs, chat.service.id, now=moment)[PRESERVATION]
    assert row.status == "not_met"
    reason = (
        f"not met: entry {index} has waited 300 s for a signed checkpoint, longer than the "
        "120 s allowed (twice TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS)"
    )
    assert row.evidence[0] == reason
    ticking = settings.model_copy(update={"checkpoint_interval_seconds": 60})
    client = TestClient(create_app(ticking, database))  # no lifespan: no checkpointer runs
    answer = client.get(f"/v1/compliance/services/{chat.service.id}", headers=officer).json()
    [served] = [o for o in answer["obligations"] if o["obligation"] == "record-preservation"]
    assert served["status"] == "not_met"
    assert served["evidence"][0].startswith(f"not met: entry {index} has waited ")
