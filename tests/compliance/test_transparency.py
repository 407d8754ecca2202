"""The transparency report: figures from the database, cross-checked against the record log,
in JSON, CSV and HTML."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import uuid

import pytest
from sqlalchemy.orm import Session

from trustdesk.compliance import transparency
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records import service as records
from trustdesk.records.events import EventType

from desk import Desk
from support import assert_problem, bearer, token_for


def busy(desk: Desk, database: Database) -> None:
    """A day at the desk: screening, notices, decisions, an appeal and a reversal, a disclosure."""
    desk.screen("b-1", "online casino here", subject="acct-1", language="en")  # auto-decided
    desk.screen("h-1", "稳赚不赔", subject="acct-2", language="zh")  # held
    desk.screen("a-1", "hello", subject="acct-3")  # allowed
    desk.notice(content_id="h-1")
    flagger = desk.post("/v1/flaggers", {"name": "Hotline"}).json()
    desk.client.post(
        "/v1/notices",
        json={
            "service_id": desk.service_id,
            "category": "art6.8",
            "explanation": "Gambling ads.",
            "good_faith": True,
            "content_id": "n-9",
        },
        headers={"Authorization": f"Bearer {flagger['key']}"},
    )
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    held = next(q for q in queue if q["items"])
    desk.post(f"/v1/cases/{held['case_id']}/claim", {}, desk.moderator)
    decided = desk.post(
        f"/v1/cases/{held['case_id']}/decision",
        {"category": "art6.10", "actions": ["delete"], "facts": "Scam bait."},
        desk.moderator,
    ).json()
    appeal = desk.post("/v1/appeals", {"decision_id": decided["decision"]["id"], "reason": "No."})
    desk.post(
        f"/v1/appeals/{appeal.json()['id']}/decision",
        {"reverse": True, "facts": "A quote in a news story."},
        desk.senior,
    )
    officer = token_for(database, "officer.t", Role.COMPLIANCE_OFFICER)
    desk.post(
        "/v1/disclosures",
        {
            "service_id": desk.service_id,
            "authority": "Example Court",
            "legal_basis": "Example Act s. 1",
            "reference": "EC-7",
            "subjects": ["acct-1"],
        },
        officer,
    )


def window() -> tuple[dt.date, dt.date]:
    today = utcnow().date()
    return today, today + dt.timedelta(days=1)


def logged(session: Session, kind: EventType, service_id: uuid.UUID) -> int:
    start, end = window()
    return records.count(
        session,
        kind,
        service_id=service_id,
        start=dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC),
        end=dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC),
    )


def test_figures_match_the_record_log(desk: Desk, database: Database) -> None:
    busy(desk, database)
    service_id = uuid.UUID(desk.service_id)
    with database.session() as session:
        report = transparency.build(session, *window(), service_id)
        data = report.as_json()
        assert sum(data["notices"]["by_category"].values()) == logged(
            session, EventType.CASES_NOTICE_RECEIVED, service_id
        )
        assert data["decisions"]["total"] == logged(
            session, EventType.CASES_DECISION_MADE, service_id
        )
        assert sum(data["appeals"]["by_outcome"].values()) == logged(
            session, EventType.CASES_APPEAL_FILED, service_id
        )
        assert data["disclosures"]["received"] == logged(
            session, EventType.IDENTITY_DISCLOSURE_REQUESTED, service_id
        )
    assert data["notices"]["by_source"] == {"anyone": 1, "trusted_flagger": 1}
    assert data["decisions"]["by_basis"] == {"law": 3}
    assert data["decisions"]["automated_decision"] == {"fully": 1, "not_automated": 2}
    assert data["decisions"]["automated_detection"] == {"yes": 3}
    assert data["decisions"]["by_action"] == {"stop_dissemination": 1, "delete": 1, "restore": 1}
    assert data["appeals"] == {"by_outcome": {"reversed": 1}, "reversals": 1}
    assert data["screening"] == {"allow": 1, "block": 1, "hold": 1}
    assert data["decisions"]["median_notice_to_decision_hours"] is not None
    assert data["disclosures"]["pending"] == 1


def test_csv_and_html_say_the_same_and_call_no_outside_host(desk: Desk, database: Database) -> None:
    busy(desk, database)
    with database.session() as session:
        report = transparency.build(session, *window(), uuid.UUID(desk.service_id))
    rows = list(csv.reader(io.StringIO(transparency.to_csv(report))))
    assert rows[0] == ["section", "key", "value"]
    flat = {(s, k): v for s, k, v in rows[1:]}
    assert flat[("decisions", "total")] == "3"
    assert flat[("notices.by_source", "trusted_flagger")] == "1"
    assert flat[("notices.by_category", "cn-xj-2014:art6.10")] == "1"  # a dotted key stays whole
    page = transparency.to_html(report)
    assert page.count("<svg") >= 5
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "@media print" in page
    assert json.loads(transparency.to_json(report)) == report.as_json()


def test_the_api_report_is_logged_and_guarded(desk: Desk, database: Database) -> None:
    officer = token_for(database, "officer.r", Role.COMPLIANCE_OFFICER)
    start, end = window()
    query = f"/v1/compliance/transparency?from={start}&to={end}&service_id={desk.service_id}"
    answer = desk.client.get(query + "&format=html", headers=bearer(officer))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert_problem(desk.client.get(query, headers=bearer(desk.moderator)), 403, "permission_denied")
    backwards = f"/v1/compliance/transparency?from={end}&to={start}"
    assert_problem(desk.client.get(backwards, headers=bearer(officer)), 422, "invalid_period")
    with database.session() as session:
        assert (
            logged(session, EventType.COMPLIANCE_REPORT_GENERATED, uuid.UUID(desk.service_id)) == 1
        )


def test_generating_a_report_is_one_use_case_that_commits_its_log_entry(
    desk: Desk, database: Database
) -> None:
    """What the API, the console and the CLI call: built, logged, and committed by itself
    (a second session sees the entry, with the digest of the report's JSON)."""
    start, end = window()
    service_id = uuid.UUID(desk.service_id)
    with database.session() as session:
        report = transparency.generate(session, start, end, service_id)
    with database.session() as session:
        assert logged(session, EventType.COMPLIANCE_REPORT_GENERATED, service_id) == 1
        last = records.entry(session, records.size(session) - 1)
    data = json.loads(last.leaf)["data"]
    assert data["digest"] == hashlib.sha256(transparency.to_json(report).encode()).hexdigest()


@pytest.mark.parametrize("value", ["=cmd|'/C calc'!A0", "+1+1", "@SUM(A1)", "-2-3"])
def test_csv_cells_that_look_like_formulas_are_neutralised(value: str) -> None:
    assert transparency._rows("x", {"k": value, "a.b": {"c.d": 1}}) == [
        ("x.a.b", "c.d", "1"),
        ("x", "k", value),
    ]
    report_csv = transparency.to_csv(
        transparency.Report(
            dt.date(2026, 1, 1),
            dt.date(2026, 1, 2),
            (value,),
            {},
            transparency.case_stats.CaseFigures(notices_by_category={value: 1}),
            {},
            {},
        )
    )
    assert f",{value}" not in report_csv.replace(f"'{value}", "")
