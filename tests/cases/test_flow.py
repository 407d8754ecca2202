"""Cases from notices and screening: the queue, claims, decisions, statements, strikes,
appeals and reversals, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from trustdesk.db.engine import Database
from trustdesk.http.ratelimit import RateLimiter
from trustdesk.permissions import Role
from trustdesk.records.models import LogEntry

from desk import Desk
from support import HOSTILE_STRINGS, assert_problem, bearer, token_for


def log_types(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))


def claim_and_decide(desk: Desk, case_id: str, token: str, **decision: Any) -> Any:
    claimed = desk.post(f"/v1/cases/{case_id}/claim", {}, token)
    assert claimed.status_code == 200, claimed.text
    return desk.post(f"/v1/cases/{case_id}/decision", decision, token)


def test_a_notice_opens_a_case_and_gets_a_receipt(desk: Desk, database: Database) -> None:
    answer = desk.notice(notifier={"name": "Reader", "email": "reader@example.org"})
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert receipt["token"].startswith("tdn_")
    assert receipt["trusted"] is False
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    assert len(queue) == 1
    assert queue[0]["notices"] == 1
    assert queue[0]["category"] == "cn-xj-2014:art6.10"
    outcome = desk.client.get(
        f"/v1/notices/{receipt['notice_id']}", headers={"X-Notice-Token": receipt["token"]}
    )
    assert outcome.json()["case_status"] == "open"
    wrong = desk.client.get(
        f"/v1/notices/{receipt['notice_id']}", headers={"X-Notice-Token": "tdn_wrong"}
    )
    assert_problem(wrong, 404, "notice_not_found")
    assert "cases:notice:received" in log_types(database)
    case = desk.get(f"/v1/cases/{queue[0]['case_id']}", desk.moderator).json()
    assert case["notices"][0]["notifier_named"] is True
    assert "reader@example.org" not in str(case)


def test_notices_about_one_item_gather_and_trusted_flaggers_go_first(desk: Desk) -> None:
    desk.notice(content_id="m-1")
    desk.notice(content_id="m-1", explanation="Second report of the same message.")
    flagger = desk.post("/v1/flaggers", {"name": "Anti-fraud centre"}).json()
    trusted = desk.client.post(
        "/v1/notices",
        json={
            "service_id": desk.service_id,
            "category": "art6.7",
            "explanation": "Threats.",
            "good_faith": True,
            "content_id": "m-2",
        },
        headers={"Authorization": f"Bearer {flagger['key']}"},
    )
    assert trusted.json()["trusted"] is True
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    assert [(q["trusted"], q["notices"]) for q in queue] == [(True, 1), (False, 2)]
    routed = desk.get("/v1/cases/queue?category=cn-xj-2014:art6.10", desk.moderator).json()
    assert [q["notices"] for q in routed] == [2]
    by_pack = desk.get("/v1/cases/queue?category=cn-xj-2014", desk.moderator).json()
    assert len(by_pack) == 2
    near = desk.get("/v1/cases/queue?category=cn-xj-2014:art6.1", desk.moderator).json()
    assert near == []  # art6.1 is not a prefix of art6.10
    only_trusted = desk.get("/v1/cases/queue?trusted=true", desk.moderator).json()
    assert [q["trusted"] for q in only_trusted] == [True]
    untrusted = desk.get("/v1/cases/queue?trusted=false", desk.moderator).json()
    assert [q["notices"] for q in untrusted] == [2]
    newest = max(q["opened_at"] for q in queue)
    oldest = min(q["opened_at"] for q in queue)
    before = desk.get(f"/v1/cases/queue?opened_before={oldest}", desk.moderator).json()
    assert [q["opened_at"] for q in before] == [oldest]
    assert len(desk.get(f"/v1/cases/queue?opened_before={newest}", desk.moderator).json()) == 2
    counts = desk.get("/v1/cases/queue/counts", desk.moderator).json()
    assert counts == {
        "total": 2,
        "unclaimed": 2,
        "trusted": 1,
        "by_category": {"cn-xj-2014:art6.10": 1, "cn-xj-2014:art6.7": 1},
    }
    case_id = queue[0]["case_id"]
    assert desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator).status_code == 200
    claimed = desk.get("/v1/cases/queue/counts?trusted=true", desk.moderator).json()
    assert (claimed["total"], claimed["unclaimed"], claimed["trusted"]) == (1, 0, 1)
    for bad in ("trusted=maybe", "opened_before=yesterday", "service_id=x", "limit=0"):
        assert_problem(desk.get(f"/v1/cases/queue?{bad}", desk.moderator), 422, "invalid_request")
    assert_problem(desk.get("/v1/cases/queue/counts", desk.key), 403, "permission_denied")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"good_faith": False}, 422, "invalid_notice"),
        ({"content_id": None}, 422, "invalid_notice"),
        ({"content_id": None, "url": "javascript:alert(1)"}, 422, "invalid_notice"),
        ({"category": "art6.3"}, 201, None),  # humans may report any category
        ({"category": "no-such"}, 422, "unknown_category"),
        ({"explanation": ""}, 422, "invalid_notice"),
        ({"explanation": "x" * 5001}, 422, "invalid_request"),
        ({"notifier": {"email": "not an address"}}, 422, "invalid_notice"),
        ({"service_id": "00000000-0000-0000-0000-000000000000"}, 404, "service_not_found"),
        ({"extra": 1}, 422, "invalid_request"),
    ],
)
def test_bad_notices_get_clear_errors(
    desk: Desk, change: dict[str, Any], status: int, code: str | None
) -> None:
    answer = desk.notice(**change)
    if code is None:
        assert answer.status_code == status, answer.text
    else:
        assert_problem(answer, status, code)


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_notices_never_break_the_server(desk: Desk, hostile: str) -> None:
    answer = desk.notice(explanation=hostile[:5000] or "x", content_id=hostile[:200] or "x")
    assert answer.status_code in {201, 422}, answer.text


def _held_limiter() -> dict[str, Any]:  # its clock held inside one window: no minute turns
    return {"notice_limiter": RateLimiter(30, clock=lambda: 60.0 * 1000 + 1)}


@pytest.mark.parametrize("desk_parts", [_held_limiter], indirect=True)
def test_notices_are_rate_limited_per_address(desk: Desk) -> None:
    answers = [desk.notice(content_id=f"r-{n}").status_code for n in range(40)]
    assert answers[:30] == [201] * 30
    assert set(answers[30:]) == {429}


def test_a_block_is_decided_at_once_and_a_hold_waits(desk: Desk, database: Database) -> None:
    blocked = desk.screen("m-10", "new online casino", language="en")
    assert blocked["verdict"] == "block"
    held = desk.screen("m-11", "稳赚不赔 的机会", language="zh")
    assert held["verdict"] == "hold"
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    assert len(queue) == 1 and queue[0]["items"] == 1  # the held one
    statements = desk.get("/v1/statements?subject=acct-1").json()
    assert len(statements) == 1
    assert statements[0]["language"] == "en"
    assert "fully automated" in statements[0]["text"]
    assert "How to appeal" in statements[0]["text"]
    types = log_types(database)
    assert types.count("cases:decision:made") == 1
    assert types.count("cases:action:issued") == 1


def test_a_moderator_claims_sees_and_decides_with_a_statement_in_chinese(desk: Desk) -> None:
    desk.screen("m-20", "稳赚不赔 的机会", subject="acct-2", language="zh")
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    case = desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator).json()
    finding = case["items"][0]["findings"][0]
    assert case["items"][0]["text"][finding["start"] : finding["end"]] == "稳赚不赔"
    assert case["history"] == {"subject": "acct-2", "active_strikes": 0, "decisions": []}
    other = desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator2)
    assert_problem(other, 409, "case_claimed")
    decided = desk.post(
        f"/v1/cases/{case_id}/decision",
        {"category": "art6.10", "actions": ["delete"], "facts": "An investment scam lure."},
        desk.moderator,
    )
    assert decided.status_code == 201, decided.text
    outcome = decided.json()
    assert outcome["decision"]["category"] == "cn-xj-2014:art6.10"
    assert outcome["decision"]["citation"] == "6(10)"
    assert outcome["decision"]["automated_detection"] is True
    assert [a["kind"] for a in outcome["actions"]] == ["delete"]
    statement = outcome["statements"][0]
    assert statement["language"] == "zh"
    assert "删除" in statement["text"] and "申诉" in statement["text"]
    again = desk.post(
        f"/v1/cases/{case_id}/decision",
        {"category": "art6.10", "actions": [], "facts": "x"},
        desk.moderator,
    )
    assert_problem(again, 409, "case_closed")


def test_deciding_needs_a_claim_and_the_right_role(desk: Desk) -> None:
    desk.notice()
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    body = {"category": "art6.10", "actions": [], "facts": "Not a scam."}
    assert_problem(
        desk.post(f"/v1/cases/{case_id}/decision", body, desk.moderator), 409, "case_claimed"
    )
    assert_problem(
        desk.post(f"/v1/cases/{case_id}/claim", {}, desk.auditor), 403, "permission_denied"
    )
    assert_problem(desk.get("/v1/cases/queue"), 403, "permission_denied")  # a service key
    bad = claim_and_decide(
        desk, case_id, desk.moderator, category="art6.10", actions=["suspend_updates"], facts="x"
    )
    assert_problem(bad, 422, "invalid_decision")  # no subject on a notice-only case


def test_strikes_bring_a_warning_then_a_suspension(desk: Desk) -> None:
    for n in range(3):
        verdict = desk.screen(f"s-{n}", "casino tonight", subject="acct-3", language="en")
        assert verdict["verdict"] == "block", verdict
    statements = desk.get("/v1/statements?subject=acct-3").json()
    texts = [s["text"] for s in statements]
    assert any(t.startswith("Warning:") for t in texts)
    suspended = [t for t in texts if "Suspend updates" in t]
    assert suspended, texts
    assert "Until:" in suspended[0]


def test_a_suspended_subject_is_not_suspended_again_item_by_item(desk: Desk) -> None:
    for n in range(5):
        verdict = desk.screen(f"r-{n}", "casino tonight", subject="acct-3", language="en")
        assert verdict["verdict"] == "block", verdict
    texts = [s["text"] for s in desk.get("/v1/statements?subject=acct-3").json()]
    assert len([t for t in texts if "Suspend updates" in t]) == 1, texts
    assert len([t for t in texts if t.startswith("Warning:")]) == 1, texts


def test_appeal_by_the_subject_reversed_by_a_senior_restores(
    desk: Desk, database: Database
) -> None:
    desk.screen("m-30", "稳赚不赔", subject="acct-1", language="en")
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    outcome = claim_and_decide(
        desk,
        case_id,
        desk.moderator,
        category="art6.10",
        actions=["stop_dissemination"],
        facts="Scam.",
    ).json()
    decision_id = outcome["decision"]["id"]
    appeal = desk.post("/v1/appeals", {"decision_id": decision_id, "reason": "It was a joke."})
    assert appeal.status_code == 201, appeal.text
    twice = desk.post("/v1/appeals", {"decision_id": decision_id, "reason": "Again."})
    assert_problem(twice, 409, "appeal_not_allowed")
    appeal_id = appeal.json()["id"]
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    assert [q["case_id"] for q in queue] == [case_id]  # back in the queue
    by_moderator = desk.post(
        f"/v1/appeals/{appeal_id}/decision", {"reverse": True, "facts": "x"}, desk.moderator
    )
    assert_problem(by_moderator, 403, "permission_denied")
    reversed_ = desk.post(
        f"/v1/appeals/{appeal_id}/decision",
        {"reverse": True, "facts": "Satire, clearly marked as such."},
        desk.senior,
    )
    assert reversed_.status_code == 200, reversed_.text
    body = reversed_.json()
    assert body["appeal"]["status"] == "reversed"
    assert [a["kind"] for a in body["outcome"]["actions"]] == ["restore"]
    assert "reverses decision" in body["outcome"]["statements"][0]["text"]
    history = desk.get(f"/v1/cases/{case_id}", desk.moderator).json()["history"]
    assert history["active_strikes"] == 0  # the strike was withdrawn
    types = log_types(database)
    assert types.count("cases:appeal:filed") == 1 and types.count("cases:appeal:decided") == 1


def test_the_first_decider_may_not_decide_the_appeal(desk: Desk, database: Database) -> None:
    both = token_for(database, "senior.two", Role.SENIOR_MODERATOR)
    desk.screen("m-40", "稳赚不赔", subject="acct-2")
    case_id = desk.get("/v1/cases/queue", both).json()[0]["case_id"]
    decision = claim_and_decide(
        desk, case_id, both, category="art6.10", actions=["delete"], facts="Scam."
    ).json()
    appeal = desk.post(
        "/v1/appeals", {"decision_id": decision["decision"]["id"], "reason": "No."}
    ).json()
    same = desk.post(
        f"/v1/appeals/{appeal['id']}/decision", {"reverse": False, "facts": "Upheld."}, both
    )
    assert_problem(same, 403, "appeal_same_reviewer")
    upheld = desk.post(
        f"/v1/appeals/{appeal['id']}/decision", {"reverse": False, "facts": "Upheld."}, desk.senior
    )
    assert upheld.json()["appeal"]["status"] == "upheld"
    assert upheld.json()["outcome"] is None


def test_a_notifier_appeals_a_decision_not_to_act(desk: Desk) -> None:
    receipt = desk.notice(content_id="m-50").json()
    token = {"X-Notice-Token": receipt["token"]}
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    claim_and_decide(
        desk, case_id, desk.moderator, category="art6.10", actions=[], facts="Not a scam."
    )
    appeal = desk.client.post(
        f"/v1/notices/{receipt['notice_id']}/appeal", json={"reason": "It is."}, headers=token
    )
    assert appeal.status_code == 201, appeal.text
    reversed_ = desk.post(
        f"/v1/appeals/{appeal.json()['id']}/decision",
        {"reverse": True, "facts": "On a second look it is a scam.", "actions": ["delete"]},
        desk.senior,
    ).json()
    assert [a["kind"] for a in reversed_["outcome"]["actions"]] == ["delete"]
    seen = desk.client.get(f"/v1/notices/{receipt['notice_id']}", headers=token).json()
    assert seen["actions"] == ["delete"]


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_facts_and_appeal_reasons_never_break_the_server(desk: Desk, hostile: str) -> None:
    desk.screen("x-1", "稳赚不赔", subject="acct-1")
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator)
    body = {"category": "art6.10", "actions": ["delete"], "facts": hostile[:5000]}
    answer = desk.client.post(  # json.dumps escapes lone surrogates, which UTF-8 cannot carry
        f"/v1/cases/{case_id}/decision",
        content=json.dumps(body),
        headers={**bearer(desk.moderator), "content-type": "application/json"},
    )
    assert answer.status_code in {201, 422}, answer.text
    if answer.status_code == 201:
        appeal = {"decision_id": answer.json()["decision"]["id"], "reason": hostile[:5000]}
        filed = desk.client.post(
            "/v1/appeals",
            content=json.dumps(appeal),
            headers={**bearer(desk.key), "content-type": "application/json"},
        )
        assert filed.status_code in {201, 422}, filed.text


def test_a_reviewers_pace_counts_their_own_decisions_by_hour_and_day(
    desk: Desk, database: Database
) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from trustdesk.auth import service as auth  # noqa: PLC0415
    from trustdesk.cases import pace  # noqa: PLC0415
    from trustdesk.db.base import utcnow  # noqa: PLC0415

    for n in range(2):
        desk.notice(content_id=f"m-pace-{n}")
    for entry in desk.get("/v1/cases/queue", desk.moderator).json():
        decided = claim_and_decide(
            desk, entry["case_id"], desk.moderator, category="art6.10", actions=[], facts="None."
        )
        assert decided.status_code == 201, decided.text
    with database.session() as session:
        people = {u.username: u.id for u in auth.list_users(session)}
        moment = utcnow()
        assert pace.reviewer_pace(session, people["mod.one"], now=moment) == (
            pace.ReviewerPace(last_hour=2, today=2)
        )
        later = moment + timedelta(minutes=61)
        same_day = later.date() == moment.date()
        assert pace.reviewer_pace(session, people["mod.one"], now=later) == (
            pace.ReviewerPace(last_hour=0, today=2 if same_day else 0)
        )
        earlier = moment - timedelta(minutes=5)  # decisions after `now` are not counted
        assert pace.reviewer_pace(session, people["mod.one"], now=earlier).last_hour == 0
        assert pace.reviewer_pace(session, people["mod.two"], now=moment) == (
            pace.ReviewerPace(last_hour=0, today=0)
        )


@pytest.mark.parametrize("reverse", [True, False])
def test_an_appeal_under_the_operators_own_terms_is_decided(desk: Desk, reverse: bool) -> None:
    desk.notice(content_id="m-terms", category="tos.spam")
    entry = desk.get("/v1/cases/queue", desk.moderator).json()[0]
    assert entry["category"] == "tos.spam"  # one spelling: the one a decision takes
    counts = desk.get("/v1/cases/queue/counts?category=tos.spam", desk.moderator).json()
    assert counts["by_category"] == {"tos.spam": 1}
    assert desk.get("/v1/cases/queue?category=tos", desk.moderator).json() == [entry]
    decided = claim_and_decide(
        desk,
        entry["case_id"],
        desk.moderator,
        category=entry["category"],
        actions=["delete"],
        facts="Spam.",
    )
    assert decided.status_code == 201, decided.text
    appeal = desk.post(
        "/v1/appeals", {"decision_id": decided.json()["decision"]["id"], "reason": "Not spam."}
    )
    assert appeal.status_code == 201, appeal.text
    ruled = desk.post(
        f"/v1/appeals/{appeal.json()['id']}/decision",
        {"reverse": reverse, "facts": "Looked at it again."},
        desk.senior,
    )
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["appeal"]["status"] == ("reversed" if reverse else "upheld")
    if reverse:
        assert [a["kind"] for a in ruled.json()["outcome"]["actions"]] == ["restore"]
        assert "reverses decision" in ruled.json()["outcome"]["statements"][0]["text"]
    else:
        assert ruled.json()["outcome"] is None
