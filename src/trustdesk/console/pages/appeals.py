"""Senior moderators' pages: the pending appeals and the decision on each."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from trustdesk.cases import decisions
from trustdesk.cases.models import AppealStatus
from trustdesk.console import labels, web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.cases import packs_of, parse_actions, parse_until
from trustdesk.console.problems import describe
from trustdesk.db.engine import transaction
from trustdesk.errors import TrustdeskError
from trustdesk.permissions import Permission

router = APIRouter()
AppealPage = Annotated[web.Page, Depends(web.staff(Permission.CASES_APPEAL_DECIDE))]
SHOWN = 100


def _pending(page: web.Page) -> list[dict[str, Any]]:
    shown = []
    for appeal in decisions.appeals(page.db, status=AppealStatus.PENDING, limit=SHOWN):
        with transaction(page.db):
            decision = decisions.get_decision(page.db, appeal.decision_id)
        packs = packs_of(page, appeal.service_id)
        shown.append(
            {
                "appeal": appeal,
                "decision": decision,
                "category": labels.category_label(
                    packs, f"{decision.pack_id}:{decision.category}", page.language
                ),
                "actions": [labels.action_label(packs, a, page.language) for a in decision.actions],
                "choices": labels.action_choices(packs, page.language),
            }
        )
    return shown


@router.get("/appeals", name="appeals")
def appeals(page: AppealPage) -> Response:
    return page.render("appeals/list.html", pending=_pending(page), error=None, failed=None)


@router.post("/appeals/{appeal_id}/decision", name="decide_appeal")
def decide_appeal(
    *,
    appeal_id: uuid.UUID,
    page: AppealPage,
    outcome: Annotated[str, Form(max_length=16)] = "",
    facts: Annotated[str, Form(max_length=decisions.MAX_FACTS)] = "",
    actions: Annotated[list[str] | None, Form(max_length=32)] = None,
    until: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    assert page.user is not None
    try:
        if outcome not in {"uphold", "reverse"}:
            raise decisions.InvalidDecision("choose to uphold or to reverse the decision")
        service_id = decisions.appeal_service(page.db, appeal_id)
        decisions.decide_appeal(
            page.db,
            packs_of(page, service_id),
            appeal_id,
            page.user.caller(),
            reverse=outcome == "reverse",
            facts=facts,
            actions=parse_actions(list(actions or [])[:10]),
            suspend_until=parse_until(until),
        )
    except TrustdeskError as exc:
        problem = describe(exc)
        return page.render(
            "appeals/list.html",
            problem.status,
            pending=_pending(page),
            error=problem,
            failed=appeal_id,
        )
    if outcome == "reverse":
        page.flash(N_("The decision is reversed; the service is told to put things right."))
    else:
        page.flash(N_("The decision is upheld."))
    return page.redirect("appeals")
