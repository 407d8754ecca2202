"""Disclosure pages: approvers vote on pending requests; compliance officers file them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.cases import packs_of
from trustdesk.console.problems import Problem, describe
from trustdesk.errors import TrustdeskError
from trustdesk.identity import disclosure
from trustdesk.identity.vault import Vault
from trustdesk.identity.vocabulary import DisclosureStatus
from trustdesk.permissions import Permission
from trustdesk.settings import Settings

router = APIRouter()
ApprovePage = Annotated[web.Page, Depends(web.staff(Permission.IDENTITY_DISCLOSURE_APPROVE))]
RequestPage = Annotated[web.Page, Depends(web.staff(Permission.IDENTITY_DISCLOSURE_REQUEST))]
SHOWN = 100
MAX_SUBJECT_LINES = 200  # the service refuses more than its own limit; this bounds the parse
STATUSES = {
    DisclosureStatus.PENDING: N_("waiting for approvers"),
    DisclosureStatus.APPROVED: N_("approved, not yet revealed"),
    DisclosureStatus.REJECTED: N_("rejected"),
    DisclosureStatus.REVEALED: N_("revealed"),
    DisclosureStatus.EXPIRED: N_("expired unrevealed"),
}


def _settings(page: web.Page) -> Settings:
    return page.desk.settings


def _approvals(
    page: web.Page, error: Problem | None = None, failed: uuid.UUID | None = None
) -> Response:
    pending = disclosure.list_requests(page.db, status=DisclosureStatus.PENDING, limit=SHOWN)
    return page.render(
        "disclosures/pending.html",
        error.status if error else 200,
        pending=pending,
        error=error,
        failed=failed,
    )


@router.get("/disclosures", name="disclosures")
def disclosures(page: ApprovePage) -> Response:
    return _approvals(page)


@router.post("/disclosures/{disclosure_id}/vote", name="vote_disclosure")
def vote_disclosure(
    *,
    disclosure_id: uuid.UUID,
    page: ApprovePage,
    verdict: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    assert page.user is not None
    try:
        if verdict not in {"approve", "reject"}:
            raise disclosure.InvalidDisclosure("choose to approve or to reject the request")
        view = disclosure.vote(
            page.db,
            page.user.caller(),
            disclosure_id,
            approve=verdict == "approve",
            reason=reason.strip() or None,
            reveal_hours=_settings(page).disclosure_reveal_hours,
            circles=auth.circles,
        )
    except TrustdeskError as exc:
        return _approvals(page, describe(exc), disclosure_id)
    if view.status is DisclosureStatus.APPROVED:
        page.flash(N_("The request is approved; its requester may reveal it once."))
    elif view.status is DisclosureStatus.REJECTED:
        page.flash(N_("The request is rejected."))
    else:
        page.flash(N_("Your approval is recorded; the request waits for another approver."))
    return page.redirect("disclosures")


def _requests(
    page: RequestPage, status: int = 200, error: Problem | None = None, **form: str
) -> Response:
    assert page.user is not None
    mine = disclosure.list_requests(page.db, requested_by=page.user.id, limit=SHOWN)
    return page.render(
        "disclosures/requests.html",
        status,
        services=compliance.list_services(page.db),
        mine=mine,
        statuses=STATUSES,
        error=error,
        form=form,
    )


@router.get("/disclosures/requests", name="disclosure_requests")
def disclosure_requests(page: RequestPage) -> Response:
    return _requests(page)


@router.post("/disclosures/requests", name="request_disclosure")
def request_disclosure(
    *,
    page: RequestPage,
    service: Annotated[str, Form(max_length=64)] = "",
    authority: Annotated[str, Form(max_length=200)] = "",
    legal_basis: Annotated[str, Form(max_length=500)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
    subjects: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    assert page.user is not None
    form = {
        "service": service,
        "authority": authority,
        "legal_basis": legal_basis,
        "reference": reference,
        "subjects": subjects,
    }
    try:
        try:
            service_id = uuid.UUID(service)
        except ValueError as exc:
            raise disclosure.InvalidDisclosure("choose the service") from exc
        compliance.get_service(page.db, service_id)
        lines = [s.strip() for s in subjects.splitlines()[:MAX_SUBJECT_LINES] if s.strip()]
        disclosure.request(
            page.db,
            page.user.caller(),
            disclosure.NewDisclosure(service_id, authority, legal_basis, reference, tuple(lines)),
            packs=packs_of(page, service_id),
            max_subjects=_settings(page).disclosure_max_subjects,
        )
    except TrustdeskError as exc:
        problem = describe(exc)
        return _requests(page, problem.status, problem, **form)
    page.flash(N_("The disclosure request is recorded; two approvers must approve it."))
    return page.redirect("disclosure_requests")


@router.post("/disclosures/{disclosure_id}/reveal", name="reveal_disclosure")
def reveal_disclosure(*, disclosure_id: uuid.UUID, page: RequestPage) -> Response:
    """Open an approved request's identities, once, on the page answering the form itself:
    never through a redirect, the session cookie or anything a browser keeps."""
    assert page.user is not None
    vault: Vault = page.desk.vault
    try:
        view, identities = disclosure.reveal(page.db, vault, page.user.caller(), disclosure_id)
    except TrustdeskError as exc:
        problem = describe(exc)
        return _requests(page, problem.status, problem)
    return page.render("disclosures/revealed.html", disclosure=view, identities=identities)
