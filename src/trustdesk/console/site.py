"""The console as an application of its own, mounted by ``create_app`` under ``/console``.

It shares the main application's state (database, packs, vault, limiters, settings), has
its own error pages (HTML, localized, never a traceback) and its own middleware: a signed
session cookie (HttpOnly, SameSite=Lax, Secure outside development, scoped to
``/console``), CSRF checks on every unsafe request, and security headers (a strict
Content-Security-Policy: scripts, styles and images from our own static files only).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
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
from trustdesk.settings import Environment, Settings

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "trustdesk_console"
SESSION_HOURS = 8  # idle time after which a desk session ends (one shift)
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


def session_secret(settings: Settings) -> str:
    """A key of its own for the console's cookies, derived from the settings' secret."""
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"trustdesk.console.session", hashlib.sha256).hexdigest()


def build(parent: FastAPI) -> FastAPI:
    """The console application, sharing ``parent``'s state."""
    settings: Settings = parent.state.settings
    for language in i18n.LANGUAGES:  # compile the catalogs now: a broken one fails the start
        web.environment(language)
    console = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(web.check_csrf), Depends(web.refuse_control_characters)],
        exception_handlers=dict(problems.HANDLERS),  # type: ignore[arg-type]
    )
    console.state = parent.state
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


def install(app: FastAPI) -> None:
    """Mount the console on ``app`` and send visitors of ``/`` to it."""
    app.mount(PREFIX, build(app), name="console")

    @app.get("/", include_in_schema=False)
    def home() -> Any:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
