"""The public's pages: report content (DSA art. 16), the receipt, the outcome and an appeal.

They work without JavaScript. A notice is rate limited per address like ``POST
/v1/notices``; its token is shown once on the receipt and never put in a URL: the
notifier types it (or the receipt's form carries it) to read the outcome.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from trustdesk.cases import appeals, decisions, notices
from trustdesk.cases.models import AppealStatus
from trustdesk.compliance import service as compliance
from trustdesk.console import labels, web
from trustdesk.console.i18n import N_
from trustdesk.console.problems import describe
from trustdesk.console.web import PublicPage
from trustdesk.errors import TrustdeskError
from trustdesk.http.ratelimit import RateLimiter, client_address
from trustdesk.policy.schema import Pack

router = APIRouter()
SESSION_RECEIPT = "receipt"
Text200 = Annotated[str, Form(max_length=200)]
Text2000 = Annotated[str, Form(max_length=2000)]
Text5000 = Annotated[str, Form(max_length=notices.MAX_EXPLANATION)]


def _service_id(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _packs(page: web.Page, service_id: uuid.UUID) -> tuple[Pack, ...]:
    return page.desk.service_packs(page.db, service_id)


def _notice_form(page: web.Page, service: str | None, status: int = 200, **values: Any) -> Response:
    services = compliance.list_services(page.db)
    chosen = _service_id(service)
    if chosen is not None and chosen not in {s.id for s in services}:
        chosen = None
    categories = labels.category_choices(_packs(page, chosen), page.language) if chosen else []
    return page.render(
        "public/notice.html",
        status,
        services=services,
        chosen=chosen,
        categories=categories,
        values=values,
    )


@router.get("/report", name="notice_form")
def notice_form(
    page: PublicPage, service: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    return _notice_form(page, service)


@router.post("/report", name="notice_submit")
def submit_notice(
    *,
    page: PublicPage,
    service_id: Annotated[str, Form(max_length=64)] = "",
    category: Text200 = "",
    content_id: Text200 = "",
    url: Text2000 = "",
    explanation: Text5000 = "",
    name: Text200 = "",
    email: Annotated[str, Form(max_length=254)] = "",
    good_faith: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    values = {
        "category": category,
        "content_id": content_id,
        "url": url,
        "explanation": explanation,
        "name": name,
        "email": email,
        "good_faith": good_faith == "yes",
    }
    chosen = _service_id(service_id)
    if chosen is None:
        return _notice_form(page, None)
    limiter: RateLimiter = page.desk.notice_limiter
    try:
        limiter.check(client_address(page.request))
        receipt = notices.submit_to_service(
            page.db,
            page.desk.service_packs,
            notices.NoticeIn(
                service_id=chosen,
                category=category,
                explanation=explanation,
                good_faith=good_faith == "yes",
                content_id=content_id or None,
                url=url or None,
                notifier_name=name or None,
                notifier_email=email or None,
                language=page.language,
            ),
        )
    except TrustdeskError as exc:
        problem = describe(exc)
        return _notice_form(page, str(chosen), problem.status, error=problem, **values)
    page.request.session[SESSION_RECEIPT] = {
        "notice_id": str(receipt.notice_id),
        "token": receipt.token,
        "received_at": receipt.received_at.isoformat(),
    }
    return page.redirect("receipt")


@router.get("/report/receipt", name="receipt")
def receipt(page: PublicPage) -> Response:
    shown = page.request.session.pop(SESSION_RECEIPT, None)
    return page.render("public/receipt.html", receipt=shown if isinstance(shown, dict) else None)


@router.get("/outcome", name="outcome_form")
def outcome_form(page: PublicPage) -> Response:
    return page.render("public/outcome_form.html", notice_id="", error=None)


def _outcome(page: web.Page, notice_id: str, token: str, status: int = 200) -> Response:
    parsed = _service_id(notice_id.strip())
    try:
        if parsed is None:
            raise notices.NoticeNotFound("no such notice")
        found = notices.outcome(page.db, parsed, token.strip())
    except TrustdeskError as exc:
        return page.render(
            "public/outcome_form.html",
            describe(exc).status,
            notice_id=notice_id[:64],
            error=describe(exc),
        )
    packs = _packs(page, found.service_id)
    pending = any(status is AppealStatus.PENDING for _, status in found.appeals)
    return page.render(
        "public/outcome.html",
        status,
        outcome=found,
        token=token.strip(),
        actions=[labels.action_label(packs, a, page.language) for a in found.actions],
        may_appeal=found.decision_id is not None and not found.actions and not pending,
    )


@router.post("/outcome", name="outcome")
def outcome(
    page: PublicPage,
    notice_id: Annotated[str, Form(max_length=64)] = "",
    token: Text200 = "",
) -> Response:
    return _outcome(page, notice_id, token)


@router.post("/outcome/appeal", name="notifier_appeal")
def appeal(
    page: PublicPage,
    notice_id: Annotated[str, Form(max_length=64)] = "",
    token: Text200 = "",
    reason: Annotated[str, Form(max_length=decisions.MAX_FACTS)] = "",
) -> Response:
    parsed = _service_id(notice_id.strip())
    try:
        if parsed is None:
            raise notices.NoticeNotFound("no such notice")
        appeals.appeal_by_notifier(page.db, page.desk.service_packs, parsed, token.strip(), reason)
    except TrustdeskError as exc:
        problem = describe(exc)
        if problem.code == "notice_not_found":
            return page.render(
                "public/outcome_form.html", 404, notice_id=notice_id[:64], error=problem
            )
        page.flash(problem.message, "error")
        return _outcome(page, notice_id, token, problem.status)
    page.flash(N_("Your appeal has been filed. A senior moderator will review the decision."))
    return _outcome(page, notice_id, token)
