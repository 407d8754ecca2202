"""The console as an application of its own, mounted by ``create_app`` under ``/console``.

It shares the main application's wiring (a :class:`trustdesk.wiring.Desk`), has
its own error pages (HTML, localized, never a traceback) and its own middleware: the
server-side session's cookie and the gate in front of request bodies
(:class:`SessionGate`), a signed cookie for what is not a secret (the language, one-time
messages), both HttpOnly, SameSite=Lax, Secure outside development and scoped to
``/console``; CSRF checks on every unsafe request, and security headers (a strict
Content-Security-Policy: scripts, styles and images from our own static files only).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustdesk.console import i18n, problems, web
from trustdesk.console.pages import (
    account,
    admin,
    appeals,
    cases,
    compliance,
    compliance_crypto,
    compliance_filings,
    compliance_servers,
    disclosures,
    public,
    records,
    rulesets,
)
from trustdesk.http.limits import capped
from trustdesk.settings import Environment, Settings

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "trustdesk_console"  # the signed cookie: language, messages, CSRF nonce
SESSION_HOURS = 8  # how long the signed cookie's preferences are kept
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Add the console's security headers; pages (not static files) are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(f"{PREFIX}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class SessionGate:
    """The server-side session's cookie, and a gate in front of request bodies.

    Views set the cookie through ``scope[web.SET_COOKIE]`` (a token, or "" to delete it);
    it goes out HttpOnly, SameSite=Lax, ``Path=/console``, Secure outside development, and
    without an expiry (the server ends the session).

    FastAPI reads a form before any dependency runs, so the session and CSRF checks of an
    upload must happen here, before its body is read: an unsafe request sending a
    multipart body (the only kind that may exceed ``max_request_bytes``) is refused, with
    not one byte of it read, unless it comes from a live session carrying its token in the
    ``X-CSRF-Token`` header or the ``csrf_token`` query parameter. Any other body is cut at
    ``max_request_bytes``, whatever larger limit the path has for uploads.
    """

    def __init__(self, app: ASGIApp, *, secure: bool, max_body: int) -> None:
        self.app = app
        self.secure = secure
        self.max_body = max_body

    def _cookie(self, value: str) -> bytes:
        parts = [f"{web.SESSION_COOKIE}={value}", f"Path={PREFIX}", "HttpOnly", "SameSite=lax"]
        if not value:
            parts += ["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_cookie(message: Message) -> None:
            value = scope.get(web.SET_COOKIE)
            if message["type"] == "http.response.start" and isinstance(value, str):
                message["headers"] = [
                    *message.get("headers", []),
                    (b"set-cookie", self._cookie(value)),
                ]
            await send(message)

        if scope["method"] in web.SAFE_METHODS:
            await self.app(scope, receive, with_cookie)
            return
        request = Request(scope)
        if web.is_multipart(request):
            if not await self._may_upload(request):
                refused = web.CsrfRefused("an upload needs a live session and its token")
                response = problems.error_page(request, problems.describe(refused))
                await response(scope, receive, with_cookie)
                return
            await self.app(scope, receive, with_cookie)
            return
        await self.app(scope, capped(receive, self.max_body), with_cookie)

    async def _may_upload(self, request: Request) -> bool:
        """Whether the request comes from a live session with its CSRF token, known from
        its cookie, headers and address alone."""
        if not request.cookies.get(web.SESSION_COOKIE):
            return False
        database = web.desk_of(request).database

        def look_up() -> web.SignedIn | None:
            with database.session() as db:
                return web.resolve(request, db)

        signed = await run_in_threadpool(look_up)
        sent = request.headers.get(web.CSRF_HEADER) or request.query_params.get(web.CSRF_FIELD)
        return signed is not None and web.same_token(signed.session.csrf_token, sent)


def session_secret(settings: Settings) -> str:
    """A key of its own for the console's cookies, derived from the settings' secret."""
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"trustdesk.console.session", hashlib.sha256).hexdigest()


def build(settings: Settings) -> FastAPI:
    """The console application (the host app shares its state with it: the wiring)."""
    for language in i18n.LANGUAGES:  # compile the catalogs now: a broken one fails the start
        web.environment(language)
    console = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(web.check_csrf), Depends(web.refuse_control_characters)],
        exception_handlers=dict(problems.HANDLERS),  # type: ignore[arg-type]
    )
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for pages in (
        account,
        public,
        cases,
        appeals,
        disclosures,
        compliance,
        compliance_filings,
        compliance_servers,
        compliance_crypto,
        records,
        admin,
        rulesets,
    ):
        console.include_router(pages.router)
    console.add_middleware(
        SessionGate,
        secure=settings.environment is not Environment.DEVELOPMENT,
        max_body=settings.max_request_bytes,
    )
    console.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        path=PREFIX,
        same_site="lax",
        https_only=settings.environment is not Environment.DEVELOPMENT,
    )
    console.add_middleware(SecurityHeaders)
    return console


def install(app: FastAPI, settings: Settings) -> FastAPI:
    """Mount the console on ``app``, send visitors of ``/`` to it, and return it."""
    console = build(settings)
    app.mount(PREFIX, console, name="console")

    @app.get("/", include_in_schema=False)
    def home() -> Any:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    return console
