"""What every console view shares: the signed-in user, permission checks, CSRF, rendering.

A view asks for a :class:`Page` through :func:`public` (anyone) or :func:`staff` (a
signed-in user holding one permission), and answers ``page.render(template, ...)``.
The session lives in a signed cookie (see :mod:`trustdesk.console.site`); it holds the
user's id, a digest of their credentials, their profile language, the language they
picked, one CSRF token and one-time messages. The user is looked up again on every
request, so a deactivated account, a changed role or a new password takes effect at once
(a new password ends the sessions made before it).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.datastructures import FormData

from trustdesk.auth import service as auth
from trustdesk.console import i18n
from trustdesk.console.nav import NAV, NavEntry
from trustdesk.errors import InvalidInput, PermissionDenied
from trustdesk.http.callers import UserCaller
from trustdesk.http.deps import SessionDep
from trustdesk.http.limits import control_characters
from trustdesk.permissions import Permission

SESSION_USER = "uid"
SESSION_CREDENTIALS = "cred"
SESSION_PROFILE_LANGUAGE = "profile_lang"
SESSION_LANGUAGE = "lang"
SESSION_CSRF = "csrf"
SESSION_FLASH = "flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FLASH = 5
FORM_CLOSING = "trustdesk.form_closing"  # set in a request's scope once its form will close


class CsrfRefused(PermissionDenied):
    code = "csrf_failed"
    title = "Form expired"


class LoginRequired(Exception):
    """Raised by :func:`staff` for an anonymous visitor; answered with a redirect to login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    id: uuid.UUID
    username: str
    display_name: str
    language: str
    permissions: frozenset[Permission]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def caller(self) -> UserCaller:
        """The user as the services' use cases know a person acting."""
        return UserCaller(self.id, self.username, self.permissions)


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path of the console's route ``name`` (resolved by the console, not the host app)."""
    console: Starlette = request.app
    path = console.url_path_for(name, **{k: str(v) for k, v in params.items()})
    return str(request.scope.get("root_path", "")) + str(path)


def session_of(request: Request) -> dict[str, Any]:
    """The request's session (an empty one where the session middleware did not run)."""
    session: dict[str, Any] = request.scope.setdefault("session", {})
    return session


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    session = session_of(request)
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


async def form_of(request: Request) -> FormData:
    """The request's form, parsed once; its uploaded files are closed when the request
    ends, also on routes that take no form of their own (FastAPI closes only those)."""
    form = await request.form()  # Starlette parses once and keeps it on the request
    stack = request.scope.get("fastapi_middleware_astack")
    if isinstance(stack, AsyncExitStack) and not request.scope.get(FORM_CLOSING):
        request.scope[FORM_CLOSING] = True
        stack.push_async_callback(form.close)
    return form


class ControlCharacter(InvalidInput):
    code = "invalid_request"


async def refuse_control_characters(request: Request) -> None:
    """No address of a page carries a control character, and no form U+0000; refuse them
    (with the console's error page) before any service sees them."""
    if control_characters(request.scope):
        raise ControlCharacter("the address contains a control character")
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    form = await form_of(request)
    if any(isinstance(value, str) and "\x00" in value for value in form.values()):
        raise ControlCharacter("the form contains a NUL character")


async def check_csrf(request: Request) -> None:
    """Refuse any unsafe request without the session's token (form field or htmx header)."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    expected = request.session.get(SESSION_CSRF)
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await form_of(request)).get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(sent, str)
        or not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
    ):
        raise CsrfRefused("the form was not sent from this session's page; reload and retry")


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Keep a one-time message (an :func:`i18n.N_` id) for the next page shown."""
    pending = list(request.session.get(SESSION_FLASH) or [])[-MAX_FLASH + 1 :]
    pending.append([kind, message])
    request.session[SESSION_FLASH] = pending


def sign_in(request: Request, user: auth.UserView) -> None:
    """Start a fresh session for ``user`` (keeping only the language they picked)."""
    picked = request.session.get(SESSION_LANGUAGE)
    request.session.clear()
    request.session[SESSION_USER] = str(user.id)
    request.session[SESSION_CREDENTIALS] = user.credentials
    request.session[SESSION_PROFILE_LANGUAGE] = user.language
    if picked in i18n.LANGUAGES:
        request.session[SESSION_LANGUAGE] = picked
    csrf_token(request)


def sign_out(request: Request) -> None:
    picked = request.session.get(SESSION_LANGUAGE)
    request.session.clear()
    if picked in i18n.LANGUAGES:
        request.session[SESSION_LANGUAGE] = picked


def _signed_in(request: Request, session: Session) -> ConsoleUser | None:
    raw = request.session.get(SESSION_USER)
    if not isinstance(raw, str):
        return None
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    try:
        found = auth.get_user(session, user_id)
    except auth.UserNotFound:
        found = None
    if (
        found is None
        or not found.active
        or request.session.get(SESSION_CREDENTIALS) != found.credentials  # a new password
    ):
        request.session.clear()
        return None
    return ConsoleUser(
        found.id, found.username, found.display_name, found.language, found.permissions
    )


def language_of(request: Request) -> str:
    session = session_of(request)
    return i18n.choose(
        session.get(SESSION_LANGUAGE),
        session.get(SESSION_PROFILE_LANGUAGE),
        request.headers.get("accept-language"),
    )


def format_time(language: str) -> Callable[[datetime | None], str]:
    def formatted(moment: datetime | None) -> str:
        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        return f"{text} UTC"

    return formatted


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("trustdesk.console", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]  # the i18n extension adds it
        i18n.translations(language), newstyle=True
    )
    environment.filters["when"] = format_time(language)
    environment.globals["language"] = language
    return environment


ENVIRONMENTS: dict[str, Environment] = {}


def environment(language: str) -> Environment:
    if language not in ENVIRONMENTS:
        ENVIRONMENTS[language] = _environment(language)
    return ENVIRONMENTS[language]


@dataclass
class Page:
    """One request to the console: who asks, in which language, and how to answer."""

    request: Request
    db: Session
    user: ConsoleUser | None
    language: str

    def url(self, name: str, /, **params: Any) -> str:
        return path_for(self.request, name, **params)

    def gettext(self, message: str) -> str:
        return i18n.gettext(self.language, message)

    def nav(self) -> list[NavEntry]:
        if self.user is None:
            return [entry for entry in NAV if entry.permission is None]
        return [e for e in NAV if e.permission is None or self.user.can(e.permission)]

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status, user=self.user, page=self, **context)

    def redirect(self, name: str, /, **params: Any) -> RedirectResponse:
        return RedirectResponse(self.url(name, **params), status_code=303)

    def flash(self, message: str, kind: str = "ok") -> None:
        flash(self.request, message, kind)


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    user: ConsoleUser | None = None,
    page: Page | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in the request's language with what every page needs."""
    language = page.language if page is not None else language_of(request)
    messages = session_of(request).pop(SESSION_FLASH, None) or []
    body = (
        environment(language)
        .get_template(template)
        .render(
            request=request,
            user=user,
            page=page,
            nav=page.nav() if page is not None else [],
            csrf_token=csrf_token(request),
            url=lambda name, /, **params: path_for(request, name, **params),
            csrf_header=Markup('{"X-CSRF-Token": "%s"}') % csrf_token(request),
            flashes=[(str(k), str(m)) for k, m in messages],
            **context,
        )
    )
    return HTMLResponse(body, status_code=status)


def public(request: Request, db: SessionDep) -> Page:
    """A page anyone may see (the user is known if signed in)."""
    user = _signed_in(request, db)
    language = i18n.choose(
        request.session.get(SESSION_LANGUAGE),
        user.language if user else request.session.get(SESSION_PROFILE_LANGUAGE),
        request.headers.get("accept-language"),
    )
    return Page(request, db, user, language)


PublicPage = Annotated[Page, Depends(public)]


def staff(permission: Permission) -> Callable[[Page], Page]:
    """A dependency: the page of a signed-in user who holds ``permission``."""

    def signed_in_with(page: PublicPage) -> Page:
        if page.user is None:
            raise LoginRequired(page.request.url.path)
        if not page.user.can(permission):
            raise PermissionDenied(f"this page needs the permission {permission}")
        return page

    signed_in_with.permission = permission  # type: ignore[attr-defined]  # read by tests
    return signed_in_with
