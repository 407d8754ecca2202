"""The console's pages through HTTP: languages, error pages, the public's notice and
appeal, the moderator's queue, case and decision, the senior's appeals, hostile input."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from console_support import TRACEBACK, Visitor, assert_hostile_fields_answered
from fastapi import FastAPI

from trustdesk.http.ratelimit import RateLimiter

from desk import Desk


def receipt_of(visitor: Visitor, desk: Desk, **fields: Any) -> tuple[str, str]:
    form = {
        "service_id": desk.service_id,
        "category": "cn-xj-2014:art6.10",
        "content_id": "m-notice",
        "explanation": "It promises returns nobody can promise.",
        "good_faith": "yes",
        **fields,
    }
    answer = visitor.post("/console/report", form, form_page="/console/report")
    assert answer.status_code == 303, answer.text
    receipt = visitor.get("/console/report/receipt").text
    notice_id = re.search(r'id="notice-id">([^<]+)<', receipt)
    token = re.search(r'id="notice-token">([^<]+)<', receipt)
    assert notice_id and token, receipt
    return notice_id.group(1), token.group(1)


# --- languages ---------------------------------------------------------------------------


def test_the_browser_language_is_the_default(visitor: Visitor) -> None:
    chinese = visitor.get("/console/login", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in chinese.text
    assert "登录" in chinese.text
    english = visitor.get("/console/login", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Sign in" in english.text
    assert '<html lang="en">' in visitor.get("/console/login").text


def test_a_picked_language_wins_over_the_browser_and_the_profile(
    visitor: Visitor, desk: Desk
) -> None:
    zh = {"accept-language": "zh-CN"}
    answer = visitor.post("/console/language", {"lang": "en", "next": "/console/report"})
    assert answer.headers["location"] == "/console/report"
    assert "Report content" in visitor.get("/console/report", headers=zh).text
    visitor.post("/console/language", {"lang": "zh", "next": "https://evil.example/"})
    page = visitor.get("/console/report")
    assert "举报内容" in page.text
    visitor.post("/console/language", {"lang": "klingon"})
    assert "举报内容" in visitor.get("/console/report").text
    visitor.sign_in("mod.one")  # an English profile; the pick survives signing in
    assert "审核队列" in visitor.get("/console/queue").text


def test_a_users_profile_language_applies_when_nothing_was_picked(
    visitor: Visitor, desk: Desk, database: Any
) -> None:
    from trustdesk.auth import service as auth  # noqa: PLC0415
    from trustdesk.permissions import Role  # noqa: PLC0415

    with database.session() as session:
        auth.create_user(
            session, username="mod.zh", password="x" * 16, roles=[Role.MODERATOR], language="zh"
        )
    visitor.sign_in("mod.zh")
    page = visitor.get("/console/queue", headers={"accept-language": "en"})
    assert "审核队列" in page.text


# --- error pages -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_error_pages_are_readable_and_localized(
    visitor: Visitor, desk: Desk, language: str
) -> None:
    headers = {"accept-language": language}
    missing = visitor.get("/console/no-such-page", headers=headers)
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    expected = "此处没有内容" if language == "zh" else "There is nothing here"
    assert expected in missing.text
    visitor.sign_in("mod.one")  # an English profile: the picked language wins over it
    visitor.post("/console/language", {"lang": language}, form_page="/console/queue")
    case = visitor.get(f"/console/cases/{uuid.uuid4()}", headers=headers)
    assert case.status_code == 404
    assert "case_not_found" in case.text
    assert ("不存在该案件" if language == "zh" else "There is no such case.") in case.text
    bad = visitor.get("/console/cases/not-a-uuid", headers=headers)
    assert bad.status_code == 422
    assert "invalid_request" in bad.text
    wrong_method = visitor.client.put("/console/queue", headers=headers)
    assert wrong_method.status_code in {403, 405}  # CSRF refuses first: PUT is unsafe
    for answer in (missing, case, bad, wrong_method):
        assert not TRACEBACK.search(answer.text)


def test_a_server_failure_is_a_page_not_a_traceback(
    visitor: Visitor, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustdesk.console.pages import cases  # noqa: PLC0415

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        msg = "secret internals"
        raise RuntimeError(msg)

    visitor.sign_in("mod.one")
    monkeypatch.setattr(cases.cases, "queue", broken)
    answer = visitor.get("/console/queue", headers={"accept-language": "zh"})
    assert answer.status_code == 500
    assert "internal_error" in answer.text
    assert "It has been logged" in answer.text  # in the profile's language
    assert "secret internals" not in answer.text
    assert not TRACEBACK.search(answer.text)


def test_the_root_sends_visitors_to_the_console(visitor: Visitor) -> None:
    answer = visitor.get("/", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/console/"
    assert "Report content" in visitor.get("/console/").text


# --- the public --------------------------------------------------------------------------


def test_a_notice_gets_a_receipt_shown_once_and_an_outcome(visitor: Visitor, desk: Desk) -> None:
    form = visitor.get(f"/console/report?service={desk.service_id}")
    assert "Insult and defamation" in form.text  # the service's categories
    notice_id, token = receipt_of(visitor, desk, name="Reader", email="reader@example.org")
    assert token.startswith("tdn_")
    again = visitor.get("/console/report/receipt")
    assert token not in again.text
    assert "shown already" in again.text
    outcome = visitor.post("/console/outcome", {"notice_id": notice_id, "token": token})
    assert outcome.status_code == 200
    assert "Waiting for review" in outcome.text
    assert "File the appeal" not in outcome.text  # nothing decided yet
    wrong = visitor.post("/console/outcome", {"notice_id": notice_id, "token": "tdn_wrong"})
    assert wrong.status_code == 404
    assert "No report matches this receipt number and token." in wrong.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"good_faith": ""}, "The report is incomplete or not valid."),
        ({"content_id": "", "url": "javascript:alert(1)"}, "invalid_notice"),
        ({"category": "no-such"}, "This category is not one of the service"),
        ({"explanation": " "}, "The report is incomplete or not valid."),
        ({"email": "not an address"}, "invalid_notice"),
    ],
)
def test_a_bad_notice_comes_back_with_its_values_and_the_reason(
    visitor: Visitor, desk: Desk, change: dict[str, str], message: str
) -> None:
    form = {
        "service_id": desk.service_id,
        "category": "cn-xj-2014:art6.10",
        "content_id": "m-kept",
        "explanation": "Kept explanation.",
        "good_faith": "yes",
        **change,
    }
    answer = visitor.post("/console/report", form, form_page="/console/report")
    assert answer.status_code == 422, answer.text
    assert message in answer.text.replace("&#39;", "'")
    if "explanation" not in change:
        assert "Kept explanation." in answer.text


def test_public_notices_are_rate_limited_like_the_api(visitor: Visitor, desk: Desk) -> None:
    for n in range(30):
        assert desk.notice(content_id=f"api-{n}").status_code == 201
    form = {
        "service_id": desk.service_id,
        "category": "cn-xj-2014:art6.10",
        "content_id": "m-over",
        "explanation": "One too many.",
        "good_faith": "yes",
    }
    answer = visitor.post("/console/report", form, form_page="/console/report")
    assert answer.status_code == 429
    assert "Too many requests from your address" in answer.text


# --- moderators and seniors --------------------------------------------------------------


def test_the_queue_filters_counts_and_refreshes_in_part(
    visitor: Visitor, desk: Desk, held_case: str
) -> None:
    desk.notice(content_id="m-n1")
    visitor.sign_in("mod.one")
    page = visitor.get("/console/queue")
    assert re.search(r'id="count-total">2<', page.text)
    assert "hx-get" in page.text
    trusted = visitor.get("/console/queue?source=trusted")
    assert re.search(r'id="count-total">0<', trusted.text)
    assert 'id="queue-empty"' in trusted.text
    old = visitor.get("/console/queue?age=7d")
    assert 'id="queue-empty"' in old.text
    partial = visitor.get(
        "/console/queue?category=cn-xj-2014:art6.10", headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text
    assert re.search(r'id="count-total">2<', partial.text)
    junk = visitor.get("/console/queue?service=junk&source=junk&age=junk&category=%E2%80%AE")
    assert junk.status_code == 200
    for url in (
        "/console/queue?category=%00",  # refused before any query runs
        "/console/queue?category=%07",
        f"/console/cases/{held_case}%0a",
        "/console/cases/%00",
        "/console/log?index=1%0d",
    ):
        refused = visitor.get(url)
        assert refused.status_code in {404, 422}, url
        assert "text/html" in refused.headers["content-type"], url
        assert "<main" in refused.text, url  # the console's own page, not the API's JSON
        assert not TRACEBACK.search(refused.text)


def test_a_case_highlights_the_match_and_escapes_the_content(
    visitor: Visitor, desk: Desk, held_case: str
) -> None:
    visitor.sign_in("mod.one")
    page = visitor.get(f"/console/cases/{held_case}").text
    assert "&lt;b&gt;<mark" in page  # the stored text's markup is shown, never rendered
    assert re.search(r"<mark title=\"fraud-bait[^\"]*\">稳赚不赔</mark>", page)
    assert "<b>稳赚不赔" not in page
    assert "acct-1" in page  # the subject, by pseudonym


def test_a_case_says_when_findings_were_cut_at_the_cap(visitor: Visitor, desk: Desk) -> None:
    held = desk.screen("m-many", "稳赚不赔 " * 150)
    assert held["findings_truncated"] is True
    assert len(held["findings"]) == 100
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    visitor.sign_in("mod.one")
    page = visitor.get(f"/console/cases/{case_id}").text
    assert page.count('<mark title="fraud-bait') == 100
    assert "Only the first matches are listed." in page
    assert "<code>fraud-bait</code> 150" in page


def test_claim_decide_and_see_the_actions(visitor: Visitor, desk: Desk, held_case: str) -> None:
    visitor.sign_in("mod.one")
    case = f"/console/cases/{held_case}"
    assert "Record the decision" not in visitor.get(case).text  # claim first
    assert visitor.post(f"{case}/claim", form_page=case).status_code == 303
    page = visitor.get(case).text
    assert "Record the decision" in page
    assert "You have claimed this case" in page
    refused = visitor.post(
        f"{case}/decision",
        {"category": "cn-xj-2014:art6.10", "actions": "suspend_updates", "facts": "Kept facts."},
        form_page=case,
    )
    assert refused.status_code == 422
    assert "invalid_decision" in refused.text
    assert "Kept facts." in refused.text
    decided = visitor.post(
        f"{case}/decision",
        {"category": "cn-xj-2014:art6.10", "actions": "stop_dissemination", "facts": "Fraud bait."},
        form_page=case,
    )
    assert decided.status_code == 303
    page = visitor.get(case).text
    assert 'data-status="pending"' in page
    assert "This case is decided." in page
    partial = visitor.get(f"{case}/actions", headers={"HX-Request": "true"}).text
    assert 'id="actions"' in partial and "<html" not in partial
    again = visitor.post(f"{case}/claim", form_page=case)
    assert again.status_code == 409
    assert "case_closed" in again.text


def test_another_moderators_claim_is_respected(
    visitor: Visitor, desk: Desk, held_case: str, app: FastAPI
) -> None:
    desk.post(f"/v1/cases/{held_case}/claim", {}, desk.moderator2)
    visitor.sign_in("mod.one")
    case = f"/console/cases/{held_case}"
    assert "Another moderator holds this case" in visitor.get(case).text
    answer = visitor.post(f"{case}/claim", form_page=case)
    assert answer.status_code == 409
    assert "Another moderator has claimed this case." in answer.text
    released = visitor.post(f"{case}/release", form_page=case)
    assert released.status_code == 303  # releasing another's claim changes nothing
    assert "Another moderator holds this case" in visitor.get(case).text


def test_a_notifier_appeals_and_a_senior_reverses(
    visitor: Visitor, desk: Desk, app: FastAPI
) -> None:
    notice_id, token = receipt_of(visitor, desk, content_id="m-appeal")
    queue = desk.get("/v1/cases/queue", desk.moderator).json()
    case_id = queue[0]["case_id"]
    assert desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator).status_code == 200
    no_action = {"category": "cn-xj-2014:art6.10", "actions": [], "facts": "Nothing unlawful."}
    assert desk.post(f"/v1/cases/{case_id}/decision", no_action, desk.moderator).status_code == 201
    outcome = visitor.post("/console/outcome", {"notice_id": notice_id, "token": token})
    assert "File the appeal" in outcome.text
    filed = visitor.post(
        "/console/outcome/appeal",
        {"notice_id": notice_id, "token": token, "reason": "It is a scam."},
        form_page="/console/outcome",
    )
    assert filed.status_code == 200
    assert "Your appeal has been filed." in filed.text
    assert "File the appeal" not in filed.text
    twice = visitor.post(
        "/console/outcome/appeal",
        {"notice_id": notice_id, "token": token, "reason": "Again."},
        form_page="/console/outcome",
    )
    assert twice.status_code == 409
    assert "An appeal is not possible here." in twice.text

    visitor.sign_in("senior.one")
    appeals = visitor.get("/console/appeals").text
    assert "It is a scam." in appeals
    appeal_id = re.search(r'action="/console/appeals/([0-9a-f-]+)/decision"', appeals)
    assert appeal_id
    path = f"/console/appeals/{appeal_id.group(1)}/decision"
    unnamed = visitor.post(
        path, {"outcome": "reverse", "facts": "Acting."}, form_page="/console/appeals"
    )
    assert unnamed.status_code == 422
    assert "invalid_decision" in unnamed.text
    reversed_ = visitor.post(
        path,
        {"outcome": "reverse", "facts": "A scam after all.", "actions": "stop_dissemination"},
        form_page="/console/appeals",
    )
    assert reversed_.status_code == 303
    after = visitor.get("/console/appeals").text
    assert "The decision is reversed" in after
    assert 'id="appeals-empty"' in after


def test_the_moderator_who_decided_may_not_decide_the_appeal(
    visitor: Visitor, desk: Desk, held_case: str, database: Any
) -> None:
    from trustdesk.auth import service as auth  # noqa: PLC0415
    from trustdesk.permissions import Role  # noqa: PLC0415

    with database.session() as session:
        auth.create_user(
            session, username="senior.two", password="x" * 16, roles=[Role.SENIOR_MODERATOR]
        )
    visitor.sign_in("senior.two")
    case = f"/console/cases/{held_case}"
    visitor.post(f"{case}/claim", form_page=case)
    visitor.post(
        f"{case}/decision",
        {"category": "cn-xj-2014:art6.10", "actions": "stop_dissemination", "facts": "Bait."},
        form_page=case,
    )
    decision = desk.get(f"/v1/cases/{held_case}", desk.senior).json()["decisions"][0]["id"]
    filed = desk.post("/v1/appeals", {"decision_id": decision, "reason": "Not a scam."})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()["id"]
    answer = visitor.post(
        f"/console/appeals/{appeal}/decision",
        {"outcome": "uphold", "facts": "Mine."},
        form_page="/console/appeals",
    )
    assert answer.status_code == 403
    assert "may not decide the appeal" in answer.text


@pytest.mark.parametrize("outcome", ["uphold", "reverse"])
def test_a_case_under_the_operators_own_terms_is_decided_and_its_appeal_too(
    visitor: Visitor, desk: Desk, outcome: str
) -> None:
    desk.notice(content_id="m-terms", category="tos.spam")
    case_id = desk.get("/v1/cases/queue", desk.moderator).json()[0]["case_id"]
    visitor.sign_in("mod.one")
    queue = visitor.get("/console/queue").text
    assert "tos.spam" in queue
    assert "tos:tos.spam" not in queue  # one spelling, the one a decision takes
    case = f"/console/cases/{case_id}"
    visitor.post(f"{case}/claim", form_page=case)
    assert '<option value="tos.spam" selected>' in visitor.get(case).text
    decided = visitor.post(
        f"{case}/decision",
        {"category": "tos.spam", "actions": "delete", "facts": "Spam."},
        form_page=case,
    )
    assert decided.status_code == 303, decided.text
    decision = desk.get(f"/v1/cases/{case_id}", desk.senior).json()["decisions"][0]["id"]
    filed = desk.post("/v1/appeals", {"decision_id": decision, "reason": "Not spam."})
    assert filed.status_code == 201, filed.text
    visitor.sign_in("senior.one")
    answer = visitor.post(
        f"/console/appeals/{filed.json()['id']}/decision",
        {"outcome": outcome, "facts": "Looked at it again."},
        form_page="/console/appeals",
    )
    assert answer.status_code == 303, answer.text
    after = visitor.get("/console/appeals").text
    assert (
        "The decision is reversed" if outcome == "reverse" else "The decision is upheld"
    ) in after


# --- hostile input on every form ---------------------------------------------------------

# name: (path, the page holding the token, valid values; each is made hostile in turn)
FORMS: dict[str, tuple[str, str, dict[str, str]]] = {
    "login": ("/console/login", "/console/login", {"username": "mod.one", "password": "x" * 16}),
    "language": ("/console/language", "/console/login", {"lang": "zh", "next": "/console/"}),
    "notice": (
        "/console/report",
        "/console/report",
        {
            "service_id": "{service}",
            "category": "cn-xj-2014:art6.10",
            "content_id": "m-hostile",
            "url": "https://chat.example/m",
            "explanation": "Why it is unlawful.",
            "name": "Reader",
            "email": "reader@example.org",
            "good_faith": "yes",
        },
    ),
    "outcome": (
        "/console/outcome",
        "/console/outcome",
        {"notice_id": "{notice}", "token": "{token}"},
    ),
    "appeal": (
        "/console/outcome/appeal",
        "/console/outcome",
        {"notice_id": "{notice}", "token": "{token}", "reason": "It is unlawful."},
    ),
    "decide": (
        "/console/cases/{case}/decision",
        "/console/queue",
        {
            "category": "cn-xj-2014:art6.10",
            "actions": "stop_dissemination",
            "facts": "F.",
            "until": "",
        },
    ),
    "claim": ("/console/cases/{case}/claim", "/console/queue", {"extra": "x"}),
    "decide_appeal": (
        "/console/appeals/{appeal}/decision",
        "/console/queue",
        {"outcome": "uphold", "facts": "Upheld.", "actions": "", "until": ""},
    ),
}


@pytest.mark.parametrize("desk_parts", [{"notice_limiter": RateLimiter(100_000)}])  # many notices
@pytest.mark.parametrize("form", sorted(FORMS))
def test_hostile_input_in_every_field_of_every_form_gets_a_clear_page(
    visitor: Visitor, desk: Desk, held_case: str, app: FastAPI, form: str
) -> None:
    receipt = desk.notice(content_id="m-appealed").json()
    names = {
        "service": desk.service_id,
        "notice": receipt["notice_id"],
        "token": receipt["token"],
        "case": held_case,
        "appeal": str(uuid.uuid4()),
    }
    path, token_page, valid = FORMS[form]
    path = path.format(**names)
    valid = {field: value.format(**names) for field, value in valid.items()}
    if form in {"decide", "claim", "decide_appeal"}:
        visitor.sign_in("senior.one")
        visitor.post(f"/console/cases/{held_case}/claim", form_page="/console/queue")
    assert_hostile_fields_answered(
        visitor,
        path,
        valid,
        token_page=token_page,
        statuses={200, 303, 401, 403, 404, 409, 422, 429},
    )


def _decide_by_api(desk: Desk, case_id: str) -> None:
    claimed = desk.post(f"/v1/cases/{case_id}/claim", {}, desk.moderator)
    assert claimed.status_code == 200, claimed.text
    decision = {"category": "art6.10", "actions": [], "facts": "Nothing unlawful in it."}
    decided = desk.post(f"/v1/cases/{case_id}/decision", decision, desk.moderator)
    assert decided.status_code == 201, decided.text


def test_the_queue_shows_a_reviewers_pace_and_suggests_a_break(
    visitor: Visitor, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustdesk.console.pages import cases as case_pages  # noqa: PLC0415

    visitor.sign_in("mod.one")
    first = visitor.get("/console/queue").text
    assert "Decided by you: 0 in the last hour, 0 today." in first
    assert 'id="break"' not in first
    for n in range(3):
        desk.notice(content_id=f"m-pace-{n}")
    for entry in desk.get("/v1/cases/queue", desk.moderator).json():
        _decide_by_api(desk, entry["case_id"])
    paced = visitor.get("/console/queue").text
    assert "Decided by you: 3 in the last hour, 3 today." in paced
    assert 'id="break"' not in paced  # 3 is far below the threshold
    monkeypatch.setattr(case_pages, "BREAK_AFTER", 3)
    tired = visitor.get("/console/queue").text
    assert 'id="break"' in tired
    assert "You have decided 3 cases in the last hour." in tired
    visitor.post("/console/logout", form_page="/console/queue")
    visitor.sign_in("mod.two")  # the pace is each reviewer's own
    assert "Decided by you: 0 in the last hour" in visitor.get("/console/queue").text


def test_content_of_a_distressing_category_is_folded_until_asked_for(
    visitor: Visitor, desk: Desk, held_case: str
) -> None:
    visitor.sign_in("mod.one")
    fraud = visitor.get(f"/console/cases/{held_case}").text
    assert 'id="sensitive"' not in fraud  # fraud (high severity) is shown at once
    assert "<mark" in fraud
    reported = desk.notice(content_id="m-threat", category="art6.7")
    assert reported.status_code == 201, reported.text
    desk.screen("m-threat", "<b>稳赚不赔</b> and a threat")
    queue = desk.get("/v1/cases/queue?category=cn-xj-2014:art6.7", desk.moderator).json()
    page = visitor.get(f"/console/cases/{queue[0]['case_id']}").text
    folded = page[page.index('id="sensitive"') :]
    assert "may be distressing" in folded
    assert folded.index("<summary") < folded.index("<mark") < folded.index("</details>")
