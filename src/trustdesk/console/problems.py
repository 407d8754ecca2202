"""Domain errors and HTTP errors as readable, localized messages on an error page.

The code is the same stable ``code`` the API answers; the page says what happened in the
reader's language and shows the service's own (English) detail only for domain errors,
never a traceback. Codes without a message of their own fall back to their branch's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    TrustdeskError,
    Unauthenticated,
)
from trustdesk.http.problems import status_for

log = logging.getLogger("trustdesk.console")

MESSAGES: dict[str, str] = {
    "invalid_input": N_("Some of what you entered was not accepted."),
    "invalid_request": N_("The form was not filled in correctly. Check each field and retry."),
    "invalid_notice": N_("The report is incomplete or not valid."),
    "unknown_category": N_("This category is not one of the service's categories."),
    "invalid_decision": N_("The decision is not valid."),
    "not_found": N_("There is nothing here, or it is not yours to see."),
    "notice_not_found": N_("No report matches this receipt number and token."),
    "case_not_found": N_("There is no such case."),
    "decision_not_found": N_("There is no such decision."),
    "appeal_not_found": N_("There is no such appeal."),
    "service_not_found": N_("There is no such service."),
    "conflict": N_("This conflicts with the current state; reload and retry."),
    "case_claimed": N_("Another moderator has claimed this case."),
    "case_closed": N_("This case has been decided already."),
    "appeal_not_allowed": N_("An appeal is not possible here."),
    "invalid_disclosure": N_("The disclosure request is incomplete or not valid."),
    "disclosure_too_broad": N_(
        "A disclosure names only a few subjects; there is no bulk disclosure."
    ),
    "disclosure_not_found": N_("There is no such disclosure request."),
    "disclosure_closed": N_("This disclosure request is closed, or you have voted on it already."),
    "disclosure_self_approval": N_("The requester of a disclosure may not approve or reject it."),
    "disclosure_controlled_approver": N_(
        "You may not vote on this request: your account and the requester's are not "
        "independent (one created, re-roled or reset the other, or someone did so to both)."
    ),
    "disclosure_dependent_approvals": N_(
        "Your approval would not count: your account and an earlier approver's are not "
        "independent. Another approver must approve."
    ),
    "invalid_period": N_("Choose a period from a date to a later one."),
    "entry_not_found": N_("The record log has no such entry."),
    "invalid_proof_request": N_("No proof can be made for this entry and tree size."),
    "unauthenticated": N_("Sign in to continue."),
    "invalid_credentials": N_("Wrong username or password."),
    "permission_denied": N_("Your role does not allow this page or action."),
    "appeal_same_reviewer": N_("The moderator who decided may not decide the appeal."),
    "csrf_failed": N_("This form has expired. Reload the page and send it again."),
    "rate_limited": N_("Too many requests from your address. Wait a minute and retry."),
    "method_not_allowed": N_("This address does not take that kind of request."),
    "payload_too_large": N_("What you sent is too large."),
    "internal_error": N_("Something went wrong on our side. It has been logged; retry later."),
}
BRANCH_CODES: tuple[tuple[type[TrustdeskError], str], ...] = (
    (InvalidInput, "invalid_input"),
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (Unauthenticated, "unauthenticated"),
    (PermissionDenied, "permission_denied"),
    (RateLimited, "rate_limited"),
)
TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("Conflict"),
    401: N_("Sign-in needed"),
    413: N_("Too large"),
    422: N_("Please check your input"),
    429: N_("Slow down"),
    500: N_("Server error"),
    503: N_("Unavailable"),
}
HTTP_CODES = {
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_request",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """What an error page (or a form's error banner) shows."""

    status: int
    code: str
    message: str  # an N_() id, translated when shown
    detail: str | None = None  # the service's own words (English), for domain errors


def describe(error: TrustdeskError) -> Problem:
    message = MESSAGES.get(error.code)
    if message is None:
        branch = next((code for kind, code in BRANCH_CODES if isinstance(error, kind)), None)
        message = MESSAGES.get(branch or "", MESSAGES["internal_error"])
    return Problem(status_for(error), error.code, message, error.message)


def error_page(request: Request, problem: Problem) -> HTMLResponse:
    return web.render(
        request,
        "error.html",
        problem.status,
        problem=problem,
        title=TITLES.get(problem.status, TITLES[500]),
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TrustdeskError)
    return error_page(request, describe(exc))


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, web.LoginRequired)
    login = web.path_for(request, "login")
    return RedirectResponse(f"{login}?{urlencode({'next': exc.next_path})}", status_code=303)


async def validation_error(request: Request, _exc: Exception) -> Response:
    # The submitted values are not echoed: they may be personal data.
    return error_page(request, Problem(422, "invalid_request", MESSAGES["invalid_request"]))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "invalid_request")
    status = exc.status_code if exc.status_code in TITLES else 400
    return error_page(request, Problem(status, code, MESSAGES[code]))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("console error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, Problem(500, "internal_error", MESSAGES["internal_error"]))


HANDLERS: dict[type[Exception] | int, object] = {
    TrustdeskError: domain_error,
    web.LoginRequired: login_required,
    RequestValidationError: validation_error,
    StarletteHTTPException: http_error,
    Exception: unexpected_error,
}
