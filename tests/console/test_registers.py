"""The disclosure, compliance and record-log pages through HTTP: a request filed by a
compliance officer and approved by two approvers, the obligations dashboard, the
transparency report with its charts, the log with an inclusion-proof check, CSRF and
hostile input on each of their forms."""

from __future__ import annotations

import re
import uuid

import pytest
from console_support import TRACEBACK, Visitor, assert_hostile_fields_answered
from fastapi import FastAPI
from sqlalchemy import func, select

from trustdesk.app import checkpoint_now
from trustdesk.auth import service as auth
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records.models import LogEntry

from desk import SYNTHETIC, Desk
from support import make_user

REQUEST = {
    "authority": "Public Security Bureau",
    "legal_basis": "Criminal Procedure Law art. 54",
    "reference": "PSB-2026-0042",
    "subjects": "acct-1\nacct-2",
}


@pytest.fixture
def people(database: Database, approver: str) -> tuple[str, str, str]:
    """A compliance officer and a second approver (the first is ``approver``)."""
    with database.session() as session:
        auth.create_user(
            session, username="officer.one", password="x" * 16, roles=[Role.COMPLIANCE_OFFICER]
        )
        make_user(session, "approver.two", Role.DISCLOSURE_APPROVER)
    return "officer.one", approver, "approver.two"


def file_request(visitor: Visitor, desk: Desk, officer: str, **fields: str) -> None:
    """File a disclosure request through the console as ``officer``, then sign out."""
    visitor.sign_in(officer)
    page = "/console/disclosures/requests"
    form = {"service": desk.service_id, **REQUEST, **fields}
    answer = visitor.post(page, form, form_page=page)
    assert answer.status_code == 303, answer.text
    listed = visitor.get(page).text
    assert "PSB-2026-0042" in listed
    assert "waiting for approvers" in listed
    visitor.post("/console/logout", form_page=page)


def pending_id(visitor: Visitor) -> str:
    found = re.search(r'id="disclosure-([0-9a-f-]{36})"', visitor.get("/console/disclosures").text)
    assert found, "a pending request is listed"
    return found.group(1)


def test_two_approvers_approve_a_request_filed_by_a_compliance_officer(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str]
) -> None:
    officer, first, second = people
    file_request(visitor, desk, officer)

    visitor.sign_in(first)
    page = visitor.get("/console/disclosures")
    assert page.status_code == 200
    for shown in ("Public Security Bureau", "Criminal Procedure Law art. 54", "PSB-2026-0042"):
        assert shown in page.text
    assert re.search(r"data-subjects>\s*2\s*<", page.text)
    disclosure_id = pending_id(visitor)
    vote = f"/console/disclosures/{disclosure_id}/vote"
    answer = visitor.post(vote, {"verdict": "approve"}, form_page="/console/disclosures")
    assert answer.status_code == 303
    assert "waits for another approver" in visitor.get("/console/disclosures").text
    again = visitor.post(vote, {"verdict": "approve"}, form_page="/console/disclosures")
    assert again.status_code == 409
    assert "disclosure_closed" in again.text
    visitor.post("/console/logout", form_page="/console/disclosures")

    visitor.sign_in(second)
    answer = visitor.post(vote, {"verdict": "approve"}, form_page="/console/disclosures")
    assert answer.status_code == 303
    shown = visitor.get("/console/disclosures").text
    assert "The request is approved" in shown
    assert "No disclosure request is waiting." in shown
    visitor.post("/console/logout", form_page="/console/disclosures")

    visitor.sign_in(officer)
    assert "approved, not yet revealed" in visitor.get("/console/disclosures/requests").text


def test_the_requester_reveals_an_approved_request_once(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str], database: Database
) -> None:
    officer, first, second = people
    file_request(visitor, desk, officer, subjects="acct-1\nacct-unknown")
    for approver in (first, second):
        visitor.sign_in(approver)
        vote = f"/console/disclosures/{pending_id(visitor)}/vote"
        answer = visitor.post(vote, {"verdict": "approve"}, form_page="/console/disclosures")
        assert answer.status_code == 303
        visitor.post("/console/logout", form_page="/console/disclosures")
    with database.session() as session:
        auth.create_user(
            session, username="officer.two", password="x" * 16, roles=[Role.COMPLIANCE_OFFICER]
        )
    page = "/console/disclosures/requests"
    visitor.sign_in("officer.two")
    assert "PSB-2026-0042" not in visitor.get(page).text  # only one's own requests are listed
    visitor.post("/console/logout", form_page=page)

    visitor.sign_in(officer)
    listed = visitor.get(page).text
    found = re.search(r'id="reveal-([0-9a-f-]{36})"', listed)
    assert found, listed
    reveal = f"/console/disclosures/{found.group(1)}/reveal"
    answer = visitor.post(reveal, form_page=page)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    number = SYNTHETIC[0]  # the desk's acct-1
    assert number in answer.text
    assert "Person 1" in answer.text
    assert "No identity is held for this subject." in answer.text  # acct-unknown
    assert "Criminal Procedure Law art. 54" in answer.text
    assert "approver.one, approver.two" in answer.text
    again = visitor.post(reveal, form_page=page)
    assert again.status_code == 409
    assert "disclosure_closed" in again.text
    assert number not in again.text
    assert "revealed" in visitor.get(page).text
    visitor.post("/console/logout", form_page=page)

    visitor.sign_in("officer.two")
    other = visitor.post(reveal, form_page=page)
    assert other.status_code == 403
    assert number not in other.text
    missing = visitor.post(f"/console/disclosures/{uuid.uuid4()}/reveal", form_page=page)
    assert missing.status_code == 404
    assert visitor.post("/console/disclosures/not-a-uuid/reveal", form_page=page).status_code == 422
    with database.session() as session:
        revealed = session.scalar(
            select(func.count()).where(LogEntry.type == "identity:disclosure:revealed")
        )
    assert revealed == 1


def test_a_rejection_needs_a_reason(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str]
) -> None:
    officer, first, _second = people
    file_request(visitor, desk, officer)
    visitor.sign_in(first)
    vote = f"/console/disclosures/{pending_id(visitor)}/vote"
    bare = visitor.post(vote, {"verdict": "reject"}, form_page="/console/disclosures")
    assert bare.status_code == 422
    assert "invalid_disclosure" in bare.text
    reasoned = visitor.post(
        vote,
        {"verdict": "reject", "reason": "The reference does not match a case."},
        form_page="/console/disclosures",
    )
    assert reasoned.status_code == 303
    assert "The request is rejected." in visitor.get("/console/disclosures").text


def test_a_bulk_request_is_refused_with_its_values_kept(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str]
) -> None:
    visitor.sign_in(people[0])
    page = "/console/disclosures/requests"
    many = "\n".join(f"acct-{n}" for n in range(500))
    answer = visitor.post(
        page, {"service": desk.service_id, **REQUEST, "subjects": many}, form_page=page
    )
    assert answer.status_code == 422
    assert "disclosure_too_broad" in answer.text
    assert 'value="PSB-2026-0042"' in answer.text


def test_the_compliance_dashboard_shows_obligations_and_the_register(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str]
) -> None:
    visitor.sign_in(people[0])
    page = visitor.get(f"/console/compliance?service={desk.service_id}")
    assert page.status_code == 200, page.text
    assert 'id="obligations"' in page.text
    assert "cn-xj-2014" in page.text
    for section in ("filings", "servers", "findings", "crypto"):
        assert f'id="{section}"' in page.text
    assert re.search(r'class="badge (met|not_met|unknown)"', page.text)
    assert visitor.get("/console/compliance?service=not-a-uuid").status_code == 200
    assert visitor.get(f"/console/compliance?service={uuid.uuid4()}").status_code == 404


def test_the_transparency_report_draws_its_figures_as_inline_svg(
    visitor: Visitor, desk: Desk, held_case: str, people: tuple[str, str, str]
) -> None:
    desk.notice(content_id="m-report")
    visitor.sign_in(people[0])
    page = "/console/compliance/transparency"
    assert visitor.get(page).status_code == 200
    answer = visitor.post(page, {"start": "2026-01-01", "end": "2027-12-31"}, form_page=page)
    assert answer.status_code == 200, answer.text
    assert "<svg" in answer.text
    assert 'class="bar"' in answer.text
    assert "Notices by category" in answer.text
    assert "http://" not in answer.text.split("<main", 1)[1]
    backwards = visitor.post(page, {"start": "2026-02-01", "end": "2026-01-01"}, form_page=page)
    assert backwards.status_code == 422
    assert "invalid_period" in backwards.text


def test_the_record_log_checks_an_entrys_inclusion_against_the_checkpoint(
    visitor: Visitor, desk: Desk, app: FastAPI
) -> None:
    desk.notice(content_id="m-logged")
    checkpoint = checkpoint_now(app)
    assert checkpoint.size > 3
    visitor.sign_in("auditor.one")
    page = visitor.get("/console/log")
    assert page.status_code == 200
    assert checkpoint.root_hash.hex() in page.text
    checked = visitor.get("/console/log?check=2")
    assert "Entry 2 is included in the checkpoint" in checked.text
    assert 'class="flash ok"' in checked.text
    beyond = visitor.get(f"/console/log?check={checkpoint.size + 5}")
    assert beyond.status_code == 422
    assert "invalid_proof_request" in beyond.text
    for junk in ("-1", "x", "9" * 40):
        answer = visitor.get(f"/console/log?check={junk}")
        assert answer.status_code == 422, junk
        assert not TRACEBACK.search(answer.text)


# --- CSRF and hostile input on the new forms ---------------------------------------------

# name: (path, the page holding the token, who signs in, valid values)
FORMS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "request_disclosure": (
        "/console/disclosures/requests",
        "/console/disclosures/requests",
        "officer.one",
        {"service": "{service}", **REQUEST},
    ),
    "vote_disclosure": (
        "/console/disclosures/{disclosure}/vote",
        "/console/disclosures",
        "approver.one",
        {"verdict": "reject", "reason": "No legal basis."},
    ),
    "transparency_report": (
        "/console/compliance/transparency",
        "/console/compliance/transparency",
        "officer.one",
        {"start": "2026-01-01", "end": "2026-02-01", "service": "{service}"},
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_new_form_refuses_a_missing_or_forged_token(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str], form: str
) -> None:
    path, _token_page, username, valid = FORMS[form]
    path = path.format(disclosure=uuid.uuid4())
    visitor.sign_in(username)
    values = {k: v.format(service=desk.service_id) for k, v in valid.items()}
    for token in ({}, {"csrf_token": "forged"}):
        answer = visitor.client.post(path, data={**values, **token}, follow_redirects=False)
        assert answer.status_code == 403, (form, token)
        assert "csrf_failed" in answer.text


@pytest.mark.parametrize("form", sorted(FORMS))
def test_hostile_input_in_every_field_of_the_new_forms_gets_a_clear_page(
    visitor: Visitor, desk: Desk, people: tuple[str, str, str], form: str
) -> None:
    file_request(visitor, desk, people[0])
    visitor.sign_in(people[1])
    names = {"service": desk.service_id, "disclosure": pending_id(visitor)}
    path, token_page, username, valid = FORMS[form]
    visitor.post("/console/logout", form_page="/console/disclosures")
    visitor.sign_in(username)
    path = path.format(**names)
    valid = {field: value.format(**names) for field, value in valid.items()}
    assert_hostile_fields_answered(
        visitor, path, valid, token_page=token_page, statuses={200, 303, 403, 404, 409, 422}
    )


def test_an_admin_reads_users_services_and_rule_sets(
    visitor: Visitor, desk: Desk, database: Database
) -> None:
    with database.session() as session:
        auth.create_user(session, username="admin.one", password="x" * 16, roles=[Role.ADMIN])
    visitor.sign_in("admin.one")
    people = visitor.get("/console/admin/users")
    assert people.status_code == 200
    assert "mod.one" in people.text and "senior_moderator" in people.text
    services = visitor.get("/console/admin/services")
    assert "Casebook" in services.text
    rules = visitor.get(f"/console/admin/rulesets?service={desk.service_id}")
    assert rules.status_code == 200
    assert re.search(r'<tbody>\s*<tr>\s*<td data-label="Version"><code>', rules.text)
    assert "active" in rules.text
