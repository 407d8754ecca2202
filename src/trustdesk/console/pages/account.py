"""Signing in and out, one's own account (its sessions, signing out everywhere), the home
page, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response

from trustdesk.auth import service as auth
from trustdesk.auth import sessions
from trustdesk.console import i18n, web
from trustdesk.console.i18n import N_
from trustdesk.console.problems import MESSAGES
from trustdesk.console.web import PublicPage, SignedInPage
from trustdesk.errors import TrustdeskError
from trustdesk.http.ratelimit import RateLimiter, client_address
from trustdesk.permissions import Permission

router = APIRouter()
MAX_NEXT = 500


def safe_next(path: str | None, fallback: str) -> str:
    """``path`` if it is a console page of this site (no open redirect), else ``fallback``."""
    if (
        path
        and len(path) <= MAX_NEXT
        and path.startswith("/console/")
        and "//" not in path
        and "\\" not in path
        and all(" " < ch < "\x7f" for ch in path)
    ):
        return path
    return fallback


def _home_of(page: web.Page) -> str:
    if page.user is not None and page.user.can(Permission.CASES_CASE_READ):
        return page.url("queue")
    if page.user is not None and page.user.can(Permission.CASES_APPEAL_DECIDE):
        return page.url("appeals")
    return page.url("notice_form")


@router.get("/", name="home")
def home(page: PublicPage) -> Response:
    if page.user is None:
        return page.render("home.html")
    return RedirectResponse(_home_of(page), status_code=303)


@router.get("/login", name="login")
def login_form(
    page: PublicPage, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return page.render("login.html", next_path=safe_next(next_path, ""), username="", error=None)


def _limiter(page: web.Page) -> RateLimiter:
    return page.desk.login_limiter  # wiring.LOGIN_ATTEMPTS_PER_MINUTE from one address


@router.post("/login", name="login_submit")
def login(
    page: PublicPage,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=MAX_NEXT)] = "",
) -> Response:
    client = client_address(page.request)
    try:
        _limiter(page).check(client)
        user = auth.sign_in(page.db, username.strip(), password)
    except TrustdeskError as exc:
        code = exc.code if exc.code in MESSAGES else "invalid_credentials"
        return page.render(
            "login.html",
            401 if code == "invalid_credentials" else 429,
            error=MESSAGES[code],
            next_path=safe_next(next_path, ""),
            username=username[:200],
        )
    signed = web.sign_in(page.request, page.db, user)
    page.user, page.session = signed.user, signed.session
    return RedirectResponse(safe_next(next_path, _home_of(page)), status_code=303)


@router.post("/logout", name="logout")
def logout(page: PublicPage) -> Response:
    web.sign_out(page.request, page.db)
    web.flash(page.request, N_("You are signed out."))
    return page.redirect("login")


@router.get("/account", name="account")
def account(page: SignedInPage) -> Response:
    assert page.user is not None
    live = sessions.list_live(
        page.db, page.user.id, web.lifetimes_of(page.request), now=web.now_of(page.request)
    )
    settings = page.desk.settings
    return page.render(
        "account.html",
        sessions=live,
        current=page.session.id if page.session else None,
        idle_minutes=settings.console_idle_minutes,
        session_hours=settings.console_session_hours,
    )


@router.post("/account/sign-out-everywhere", name="sign_out_everywhere")
def sign_out_everywhere(page: SignedInPage) -> Response:
    """End every session of the user, this one included (a lost laptop, a shared desk)."""
    assert page.user is not None
    auth.sign_out_everywhere(page.db, page.user.caller(), page.user.id)
    web.sign_out(page.request, page.db)
    web.flash(page.request, N_("You are signed out everywhere."))
    return page.redirect("login")


@router.post("/language", name="language")
def language(
    page: PublicPage,
    lang: Annotated[str, Form(max_length=8)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=MAX_NEXT)] = "",
) -> Response:
    if lang in i18n.LANGUAGES:
        page.request.session[web.SESSION_LANGUAGE] = lang
    return RedirectResponse(safe_next(next_path, page.url("home")), status_code=303)
