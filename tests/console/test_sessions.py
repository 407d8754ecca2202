"""Console sessions kept on the server, through HTTP: signing out kills a copied cookie,
idle and absolute lifetimes, signing out everywhere, deactivation, no fixation, a CSRF
token no cookie reveals, and uploads refused before their body is read."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from console_support import Visitor
from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.app import desk_of
from trustdesk.auth import service as auth
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from support import MULTIPART, drive, huge_upload

PASSWORD = "x" * 16
QUEUE = "/console/queue"
UPLOAD = "/console/admin/rulesets/check"
MiB = 1024 * 1024


class Clock:
    """The console's clock, moved by the test (the wiring's ``console_clock``)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk_parts(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A test that asks for the clock gets an app that reads it."""
    if "clock" in request.fixturenames:
        return {"console_clock": request.getfixturevalue("clock")}
    return {}


@pytest.fixture
def people(database: Database) -> dict[str, uuid.UUID]:
    made = {}
    with database.session() as session:
        for username, role in (
            ("mod.one", Role.MODERATOR),
            ("mod.two", Role.MODERATOR),
            ("admin.one", Role.ADMIN),
        ):
            user = auth.create_user(session, username=username, password=PASSWORD, roles=[role])
            made[username] = user.id
    return made


@pytest.fixture
def other(app: FastAPI) -> Iterator[Visitor]:
    """A second browser."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Visitor(client)


def copied(visitor: Visitor) -> str:
    """Every cookie the browser holds, as a ``Cookie`` header someone could replay."""
    return "; ".join(f"{c.name}={c.value}" for c in visitor.client.cookies.jar)


def replay(app: FastAPI, cookies: str, path: str = QUEUE) -> Any:
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        return client.get(path, headers={"cookie": cookies}, follow_redirects=False)


def signed_out(answer: Any) -> bool:
    return bool(
        answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    )


def test_a_copied_cookie_is_dead_once_its_session_signs_out(
    app: FastAPI, visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    visitor.sign_in("mod.one")
    stolen = copied(visitor)
    token = visitor.token(QUEUE)
    assert replay(app, stolen).status_code == 200  # a copy works while the session lives

    assert visitor.post("/console/logout", form_page=QUEUE).status_code == 303
    assert signed_out(replay(app, stolen))
    # nor can the copy, with the token its pages carried, renew or act on anything
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as thief:
        acted = thief.post(
            "/console/language",
            data={"csrf_token": token, "lang": "zh", "next": QUEUE},
            headers={"cookie": stolen},
            follow_redirects=False,
        )
        assert acted.status_code == 403
        assert signed_out(thief.get(QUEUE, headers={"cookie": stolen}, follow_redirects=False))


def _decoded(value: str) -> str:
    """A cookie's value and, for a signed one, its readable payload."""
    payload = value.split(".", maxsplit=1)[0]
    try:
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except ValueError:
        text = ""
    return value + "\n" + text


def test_no_cookie_reveals_the_csrf_token(visitor: Visitor, people: dict[str, uuid.UUID]) -> None:
    anonymous = visitor.token("/console/login")
    readable = "".join(_decoded(c.value) for c in visitor.client.cookies.jar)
    assert anonymous not in readable

    visitor.sign_in("mod.one")
    token = visitor.token(QUEUE)
    assert token != anonymous
    readable = "".join(_decoded(c.value) for c in visitor.client.cookies.jar)
    assert token not in readable
    assert "csrf" not in readable.lower()


def test_the_session_cookie_is_http_only_lax_secure_and_ends_with_the_browser(
    visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    answer = visitor.sign_in("mod.one")
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("trustdesk_session=")
    ).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie  # outside development
    assert "path=/console" in cookie
    assert "max-age" not in cookie and "expires" not in cookie  # the server ends it


def test_a_session_ends_after_its_idle_timeout(
    visitor: Visitor, clock: Clock, people: dict[str, uuid.UUID]
) -> None:
    visitor.sign_in("mod.one")
    for _ in range(4):  # busy for two hours: each visit within the idle timeout
        clock.advance(minutes=29)
        assert visitor.get(QUEUE, follow_redirects=False).status_code == 200
    clock.advance(minutes=31)
    assert signed_out(visitor.get(QUEUE, follow_redirects=False))


def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    visitor: Visitor, clock: Clock, people: dict[str, uuid.UUID]
) -> None:
    start = clock.now
    visitor.sign_in("mod.one")
    while clock.now + timedelta(minutes=20) < start + timedelta(hours=12):
        clock.advance(minutes=20)
        assert visitor.get(QUEUE, follow_redirects=False).status_code == 200
    clock.now = start + timedelta(hours=12)
    assert signed_out(visitor.get(QUEUE, follow_redirects=False))


def test_signing_out_everywhere_ends_every_session_of_the_user(
    app: FastAPI, visitor: Visitor, other: Visitor, people: dict[str, uuid.UUID]
) -> None:
    visitor.sign_in("mod.one")
    other.sign_in("mod.one")
    stolen = copied(other)
    bystander = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    with bystander:
        third = Visitor(bystander)
        third.sign_in("mod.two")  # someone else's session is not touched

        account = visitor.get("/console/account")
        assert account.status_code == 200
        assert len(re.findall(r"<tr>\s*<td data-label", account.text)) == 2
        ended = visitor.post("/console/account/sign-out-everywhere", form_page="/console/account")
        assert signed_out(ended)
        assert "You are signed out everywhere." in visitor.get("/console/login").text

        assert signed_out(visitor.get(QUEUE, follow_redirects=False))
        assert signed_out(other.get(QUEUE, follow_redirects=False))
        assert signed_out(replay(app, stolen))
        assert third.get(QUEUE, follow_redirects=False).status_code == 200


def test_an_administrator_signs_a_user_out_everywhere_and_keeps_their_own_session(
    visitor: Visitor, other: Visitor, people: dict[str, uuid.UUID]
) -> None:
    other.sign_in("mod.one")
    visitor.sign_in("admin.one")
    page = f"/console/admin/users/{people['mod.one']}"
    assert "Signed in to the console: 1 sessions." in visitor.get(page).text
    ended = visitor.post(f"{page}/sessions/end", form_page=page)
    assert ended.status_code == 303
    shown = visitor.get(page).text
    assert "The user is signed out everywhere." in shown
    assert "Signed in to the console: 0 sessions." in shown
    assert signed_out(other.get(QUEUE, follow_redirects=False))

    mine = f"/console/admin/users/{people['admin.one']}"
    other.sign_in("admin.one")  # the administrator elsewhere too
    assert visitor.post(f"{mine}/sessions/end", form_page=mine).status_code == 303
    assert visitor.get(mine, follow_redirects=False).status_code == 200  # here: kept
    assert signed_out(other.get(mine, follow_redirects=False))  # elsewhere: ended


def test_deactivation_ends_the_sessions_for_good(
    app: FastAPI, visitor: Visitor, other: Visitor, people: dict[str, uuid.UUID]
) -> None:
    other.sign_in("mod.one")
    stolen = copied(other)
    visitor.sign_in("admin.one")
    page = f"/console/admin/users/{people['mod.one']}"
    assert visitor.post(f"{page}/active", {"active": "no"}, form_page=page).status_code == 303
    assert signed_out(replay(app, stolen))
    assert visitor.post(f"{page}/active", {"active": "yes"}, form_page=page).status_code == 303
    assert signed_out(replay(app, stolen))  # reactivation brings no session back
    assert signed_out(other.get(QUEUE, follow_redirects=False))


def test_new_roles_end_the_user_s_sessions(
    app: FastAPI, visitor: Visitor, other: Visitor, people: dict[str, uuid.UUID]
) -> None:
    other.sign_in("mod.one")
    visitor.sign_in("admin.one")
    page = f"/console/admin/users/{people['mod.one']}"
    changed = visitor.post(f"{page}/roles", {"roles": ["moderator", "auditor"]}, form_page=page)
    assert changed.status_code == 303
    assert signed_out(other.get(QUEUE, follow_redirects=False))
    assert visitor.get(page).status_code == 200


def test_signing_in_always_starts_a_new_session(
    app: FastAPI, visitor: Visitor, other: Visitor, people: dict[str, uuid.UUID]
) -> None:
    # an attacker plants their own live session cookie in the victim's browser...
    other.sign_in("mod.two")
    cookie = next(c for c in other.client.cookies.jar if c.name == "trustdesk_session")
    planted = cookie.value
    assert planted
    visitor.client.cookies.jar.set_cookie(cookie)
    assert visitor.get(QUEUE, follow_redirects=False).status_code == 200  # as mod.two
    # ...and the victim signs in: a new session, and the planted one is over
    visitor.sign_in("mod.one")
    mine = visitor.client.cookies.get("trustdesk_session", path="/console")
    assert mine and mine != planted
    assert signed_out(replay(app, f"trustdesk_session={planted}"))
    assert replay(app, f"trustdesk_session={mine}").status_code == 200


# --- uploads: the session and its token are checked before the body is read -------------


def test_an_upload_without_a_live_session_is_refused_before_its_body_is_read(
    app: FastAPI, visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    anonymous = visitor.token("/console/login")  # a valid token, of no session
    cookies = copied(visitor)
    for headers, query in (
        ({}, ""),
        ({"cookie": cookies}, f"csrf_token={anonymous}"),
        ({"cookie": cookies, "x-csrf-token": anonymous}, ""),
        ({"cookie": "trustdesk_session=" + "A" * 43}, f"csrf_token={anonymous}"),
    ):
        body = huge_upload({"csrf_token": anonymous, "service": str(uuid.uuid4())})
        status, pulled = drive(app, UPLOAD, {**MULTIPART, **headers}, body, query)
        assert status == 403, (headers, query)
        assert pulled == 0, f"{pulled} bytes read before refusing"


def test_an_upload_without_its_token_outside_the_body_is_refused_before_it_is_read(
    app: FastAPI, visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    visitor.sign_in("admin.one")
    token = visitor.token("/console/admin/rulesets")
    cookie = {"cookie": copied(visitor)}
    for headers, query in (
        ({}, ""),  # the token only in the form: it would be read after the body
        ({}, "csrf_token=forged"),
        ({"x-csrf-token": "forged"}, ""),
    ):
        body = huge_upload({"csrf_token": token, "service": str(uuid.uuid4())})
        status, pulled = drive(app, UPLOAD, {**MULTIPART, **cookie, **headers}, body, query)
        assert status == 403, (headers, query)
        assert pulled == 0, f"{pulled} bytes read before refusing"


def test_an_upload_from_the_session_with_its_token_is_read(
    app: FastAPI, visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    visitor.sign_in("admin.one")
    token = visitor.token("/console/admin/rulesets")
    headers = {**MULTIPART, "cookie": copied(visitor)}
    body = huge_upload({"service": str(uuid.uuid4())}, size=2 * MiB)
    for extra, query in (({}, f"csrf_token={token}"), ({"x-csrf-token": token}, "")):
        status, pulled = drive(app, UPLOAD, {**headers, **extra}, body, query)
        assert pulled == sum(map(len, body))  # read, and judged on its content
        assert status == 404, status  # past the gate: no such service


def test_a_body_that_is_not_an_upload_is_cut_at_the_ordinary_limit(
    app: FastAPI, visitor: Visitor, people: dict[str, uuid.UUID]
) -> None:
    """An upload route's larger limit is for files: a form sent to it as plain fields is
    cut at ``max_request_bytes`` like any other, before its token is even looked for."""
    visitor.sign_in("admin.one")
    token = visitor.token("/console/admin/rulesets")
    form = {"content-type": "application/x-www-form-urlencoded", "cookie": copied(visitor)}
    body = [f"csrf_token={token}&service=".encode(), *([b"a" * (256 * 1024)] * 32)]  # 8 MiB
    status, pulled = drive(app, UPLOAD, form, body)
    assert status == 413
    limit = desk_of(app).settings.max_request_bytes
    assert pulled <= limit + 256 * 1024
