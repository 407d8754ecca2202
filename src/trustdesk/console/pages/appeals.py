"""Senior moderators' pages: the pending appeals and the decision on each."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from trustdesk.cases import appeals as cases_appeals
from trustdesk.cases import decisions
from trustdesk.cases.service import category_key
from trustdesk.console import labels, web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.cases import packs_of, parse_actions, parse_until, service_packs
from trustdesk.console.problems import describe
from trustdesk.errors import TrustdeskError
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack

router = APIRouter()
AppealPage = Annotated[web.Page, Depends(web.staff(Permission.CASES_APPEAL_DECIDE))]
SHOWN = 100


def _pending(page: web.Page) -> list[dict[str, Any]]:
    shown = []
    of_service: dict[uuid.UUID, tuple[tuple[Pack, ...], list[labels.Choice]]] = {}
    for appeal, decision in cases_appeals.pending_appeals(page.db, limit=SHOWN):
        if appeal.service_id not in of_service:  # a service's packs, looked up once
            found = packs_of(page, appeal.service_id)
            of_service[appeal.service_id] = found, labels.action_choices(found, page.language)
        packs, choices = of_service[appeal.service_id]
        shown.append(
            {
                "appeal": appeal,
                "decision": decision,
                "category": labels.category_label(
                    packs, category_key(decision.pack_id, decision.category), page.language
                ),
                "actions": [labels.action_label(packs, a, page.language) for a in decision.actions],
                "choices": choices,
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
        ruling = cases_appeals.AppealRuling(
            reverse=outcome == "reverse",
            facts=facts,
            actions=parse_actions(list(actions or [])[:10]),
            suspend_until=parse_until(until),
        )
        cases_appeals.decide_appeal(
            page.db, service_packs(page), appeal_id, page.user.caller(), ruling
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
