"""What every console view shares: the signed-in user, permission checks, CSRF, rendering.

A view asks for a :class:`Page` through :func:`public` (anyone), :func:`signed_in` (any
signed-in user) or :func:`staff` (a signed-in user holding one permission), and answers
``page.render(template, ...)``.

Sessions live on the server (:mod:`trustdesk.auth.sessions`): the ``trustdesk_session``
cookie holds only a random token, looked up on every request, so signing out, "sign out
everywhere", a deactivation, a new password or new roles end a session at once, and a
copied cookie dies with it. Each session has its own CSRF token, kept in its row and
embedded only in the pages it renders. A second, signed cookie (see
:mod:`trustdesk.console.site`) keeps what is not a secret: the language picked, one-time
messages, a notice's receipt, and the nonce behind an anonymous visitor's CSRF token (an
HMAC of it under the server's key, so not readable from the cookie either).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.datastructures import FormData

from trustdesk.auth import service as auth
from trustdesk.auth import sessions
from trustdesk.callers import UserCaller
from trustdesk.console import i18n
from trustdesk.console.nav import NAV, NavEntry
from trustdesk.errors import InvalidInput, PermissionDenied
from trustdesk.http.deps import SessionDep, desk_in
from trustdesk.http.limits import control_characters
from trustdesk.permissions import Permission
from trustdesk.wiring import Desk

SESSION_COOKIE = "trustdesk_session"  # the server-side session's token, and nothing else
SESSION_LANGUAGE = "lang"  # keys of the signed cookie
SESSION_NONCE = "anon"
SESSION_FLASH = "flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FLASH = 5
FORM_CLOSING = "trustdesk.form_closing"  # set in a request's scope once its form will close
SIGNED_IN = "trustdesk.signed_in"  # the request's session, once looked up (or None)
SET_COOKIE = "trustdesk.session_cookie"  # a token to set, or "" to delete the cookie
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MULTIPART = "multipart/form-data"


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

    @classmethod
    def of(cls, user: auth.UserView) -> ConsoleUser:
        return cls(user.id, user.username, user.display_name, user.language, user.permissions)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def caller(self) -> UserCaller:
        """The user as the services' use cases know a person acting."""
        return UserCaller(self.id, self.username, self.permissions)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A request's live session and its user."""

    session: sessions.LiveSession
    user: ConsoleUser


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path of the console's route ``name`` (resolved by the console, not the host app)."""
    console: Starlette = request.app
    path = console.url_path_for(name, **{k: str(v) for k, v in params.items()})
    return str(request.scope.get("root_path", "")) + str(path)


def session_of(request: Request) -> dict[str, Any]:
    """The request's session (an empty one where the session middleware did not run)."""
    session: dict[str, Any] = request.scope.setdefault("session", {})
    return session


def desk_of(request: Request) -> Desk:
    """The application's wiring, from the one dependency that reads it."""
    desk: Desk = desk_in(request)
    return desk


def now_of(request: Request) -> datetime:
    """The time for session checks (the wiring's clock, which tests may move)."""
    return desk_of(request).console_clock()


def lifetimes_of(request: Request) -> sessions.Lifetimes:
    settings = desk_of(request).settings
    return sessions.Lifetimes(
        idle=timedelta(minutes=settings.console_idle_minutes),
        absolute=timedelta(hours=settings.console_session_hours),
    )


def signed_in_of(request: Request) -> SignedIn | None:
    """The request's session if it was looked up already (by :func:`resolve`)."""
    found = request.scope.get(SIGNED_IN)
    return found if isinstance(found, SignedIn) else None


def resolve(request: Request, db: Session) -> SignedIn | None:
    """The live session the request's cookie names, looked up once per request; a cookie
    naming none is deleted with the answer."""
    if SIGNED_IN in request.scope:
        return signed_in_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    found = None
    if token:
        resumed = auth.resume_session(db, token, lifetimes_of(request), now=now_of(request))
        if resumed is not None:
            live, user = resumed
            found = SignedIn(live, ConsoleUser.of(user))
        else:
            request.scope[SET_COOKIE] = ""
    request.scope[SIGNED_IN] = found
    return found


def _anonymous_token(request: Request, *, make: bool) -> str | None:
    """An anonymous visitor's CSRF token: an HMAC, under a key derived from the server's
    secret, of a random nonce kept in the signed cookie (which therefore does not reveal
    the token)."""
    session = session_of(request)
    nonce = session.get(SESSION_NONCE)
    if not isinstance(nonce, str) or len(nonce) < 16:
        if not make:
            return None
        nonce = secrets.token_urlsafe(16)
        session[SESSION_NONCE] = nonce
    secret = desk_of(request).settings.secret_key.get_secret_value().encode()
    key = hmac.new(secret, b"trustdesk.console.csrf", hashlib.sha256).digest()
    mac = hmac.new(key, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The token a page embeds in its forms: the session's own when signed in, else the
    anonymous visitor's (made on first use)."""
    found = signed_in_of(request)
    if found is not None:
        return found.session.csrf_token
    token = _anonymous_token(request, make=True)
    assert token is not None  # made above
    return token


def expected_csrf(request: Request) -> str | None:
    """The token an unsafe request of this session must carry (None: there is none)."""
    found = signed_in_of(request)
    if found is not None:
        return found.session.csrf_token
    return _anonymous_token(request, make=False)


def same_token(expected: str | None, sent: object) -> bool:
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
    )


def is_multipart(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == MULTIPART


def with_csrf(request: Request, url: str) -> str:
    """``url`` carrying the CSRF token in its query: the action of a form that uploads a
    file, whose token must be checked before its (large) body is read."""
    return f"{url}{'&' if '?' in url else '?'}{CSRF_FIELD}={csrf_token(request)}"


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


async def check_csrf(request: Request, db: SessionDep) -> None:
    """Refuse any unsafe request without its session's token: the ``csrf_token`` form
    field, the ``X-CSRF-Token`` header (htmx) or, for an upload (multipart), the header or
    the ``csrf_token`` query parameter only, so that it is checked before the body is read
    (see ``site.SessionGate``)."""
    if request.method in SAFE_METHODS:
        return
    resolve(request, db)
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None and is_multipart(request):
        sent = request.query_params.get(CSRF_FIELD)
    elif sent is None:
        sent = (await form_of(request)).get(CSRF_FIELD)
    if not same_token(expected_csrf(request), sent):
        raise CsrfRefused("the form was not sent from this session's page; reload and retry")


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Keep a one-time message (an :func:`i18n.N_` id) for the next page shown."""
    pending = list(request.session.get(SESSION_FLASH) or [])[-MAX_FLASH + 1 :]
    pending.append([kind, message])
    request.session[SESSION_FLASH] = pending


def _keep_language_only(request: Request) -> None:
    session = session_of(request)
    picked = session.get(SESSION_LANGUAGE)
    session.clear()
    if picked in i18n.LANGUAGES:
        session[SESSION_LANGUAGE] = picked


def sign_in(request: Request, db: Session, user: auth.UserView) -> SignedIn:
    """Start a fresh session for ``user``: a new token, whatever cookie came with the
    request (no fixation), and a session the request brought ends. The signed cookie
    keeps only the language picked."""
    brought = resolve(request, db)
    if brought is not None:
        sessions.revoke(db, brought.session.id, now=now_of(request))
    token, live = sessions.open_session(db, user.id, lifetimes_of(request), now=now_of(request))
    _keep_language_only(request)
    request.scope[SET_COOKIE] = token
    found = SignedIn(live, ConsoleUser.of(user))
    request.scope[SIGNED_IN] = found
    return found


def sign_out(request: Request, db: Session) -> None:
    """End the request's session on the server (its cookie, wherever copied, opens nothing
    from now on) and forget it in the browser."""
    found = resolve(request, db)
    if found is not None:
        sessions.revoke(db, found.session.id, now=now_of(request))
    _keep_language_only(request)
    request.scope[SET_COOKIE] = ""
    request.scope[SIGNED_IN] = None


def language_of(request: Request) -> str:
    found = signed_in_of(request)
    return i18n.choose(
        session_of(request).get(SESSION_LANGUAGE),
        found.user.language if found is not None else None,
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
    session: sessions.LiveSession | None = None

    @property
    def desk(self) -> Desk:
        """The application's wiring: settings, packs, vault, registries, limiters."""
        return desk_of(self.request)

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
            with_csrf=lambda url: with_csrf(request, url),
            flashes=[(str(k), str(m)) for k, m in messages],
            **context,
        )
    )
    return HTMLResponse(body, status_code=status)


def public(request: Request, db: SessionDep) -> Page:
    """A page anyone may see (the user is known if signed in)."""
    found = resolve(request, db)
    return Page(
        request,
        db,
        found.user if found else None,
        language_of(request),
        found.session if found else None,
    )


PublicPage = Annotated[Page, Depends(public)]


def signed_in(page: PublicPage) -> Page:
    """A dependency: the page of any signed-in user (their own account)."""
    if page.user is None:
        raise LoginRequired(page.request.url.path)
    return page


SignedInPage = Annotated[Page, Depends(signed_in)]


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
