"""The administrators' pages through HTTP: creating users and changing their roles, state
and password; registering services, issuing keys shown once, revoking them; the guard
rails, CSRF, hostile input and bad addresses on each of their forms."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from console_support import TRACEBACK, Visitor, assert_hostile_fields_answered
from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.auth import service as auth
from trustdesk.db.engine import Database
from trustdesk.permissions import Role

from desk import Desk
from support import assert_problem, bearer

USERS = "/console/admin/users"
SERVICES = "/console/admin/services"
NEW_KEY = re.compile(r'id="new-key-value">(td_[^<]+)<')
NEW_USER = {
    "username": "new.person",
    "display_name": "New Person 新人",
    "language": "zh",
    "roles": ["moderator", "auditor"],
    "password": "a good long passphrase",
}


@pytest.fixture
def admin(database: Database, desk: Desk) -> auth.UserView:
    with database.session() as session:
        return auth.create_user(
            session, username="admin.one", password="x" * 16, roles=[Role.ADMIN]
        )


@pytest.fixture
def other(app: FastAPI) -> Iterator[Visitor]:
    """A second browser, for the person an administrator acts on."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Visitor(client)


def user_id(database: Database, username: str) -> uuid.UUID:
    with database.session() as session:
        return next(u.id for u in auth.list_users(session) if u.username == username)


def key_ids(database: Database, service_id: str) -> list[uuid.UUID]:
    with database.session() as session:
        return [k.id for k in auth.list_api_keys(session, uuid.UUID(service_id))]


def session_cookie_text(visitor: Visitor) -> str:
    """What the signed session cookie carries, decoded (it is signed, not encrypted)."""
    value = visitor.client.cookies.get("trustdesk_console", path="/console") or ""
    payload = value.split(".")[0]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


# --- users -------------------------------------------------------------------------------


def test_an_admin_creates_a_user_who_then_signs_in(
    visitor: Visitor, other: Visitor, admin: auth.UserView
) -> None:
    visitor.sign_in("admin.one")
    page = visitor.get(USERS)
    assert page.status_code == 200
    assert 'id="user-form"' in page.text
    answer = visitor.post(USERS, NEW_USER, form_page=USERS)
    assert answer.status_code == 303, answer.text
    listed = visitor.get(answer.headers["location"]).text
    assert "The user is created." in listed
    assert "new.person" in listed and "New Person 新人" in listed
    assert NEW_USER["password"] not in listed

    other.sign_in("new.person", NEW_USER["password"])
    queue = other.get("/console/queue")
    assert queue.status_code == 200
    assert '<html lang="zh-Hans">' in queue.text  # the profile language chosen for them


def test_a_refused_new_user_keeps_the_form_but_never_the_password(
    visitor: Visitor, admin: auth.UserView
) -> None:
    visitor.sign_in("admin.one")
    taken = visitor.post(USERS, {**NEW_USER, "username": "mod.one"}, form_page=USERS)
    assert taken.status_code == 409
    assert "This username is taken; choose another." in taken.text
    assert 'value="New Person 新人"' in taken.text
    assert NEW_USER["password"] not in taken.text
    no_role = visitor.post(USERS, {**NEW_USER, "roles": []}, form_page=USERS)
    assert no_role.status_code == 422
    assert "a user needs at least one role" in no_role.text
    bad_role = visitor.post(USERS, {**NEW_USER, "roles": ["admin", "root"]}, form_page=USERS)
    assert bad_role.status_code == 422
    assert "choose roles from the list" in bad_role.text
    too_long = visitor.post(USERS, {**NEW_USER, "display_name": "x" * 201}, form_page=USERS)
    assert too_long.status_code == 422
    assert "a display name is at most 200 characters" in too_long.text
    huge = visitor.post(USERS, {**NEW_USER, "display_name": "x" * 5000}, form_page=USERS)
    assert huge.status_code == 422
    assert "The form was not filled in correctly." in huge.text
    assert "new.person" not in visitor.get(USERS).text


def test_roles_change_and_take_effect_at_the_users_next_request(
    visitor: Visitor, other: Visitor, admin: auth.UserView, database: Database
) -> None:
    mod = user_id(database, "mod.one")
    other.sign_in("mod.one")
    assert other.get("/console/appeals", follow_redirects=False).status_code == 403

    visitor.sign_in("admin.one")
    page = f"{USERS}/{mod}"
    shown = visitor.get(page)
    assert shown.status_code == 200
    assert re.search(r'value="moderator" checked', shown.text)
    answer = visitor.post(f"{page}/roles", {"roles": ["senior_moderator"]}, form_page=page)
    assert answer.status_code == 303
    assert answer.headers["location"] == page
    after = visitor.get(page).text
    assert "The roles are changed" in after
    assert re.search(r'value="senior_moderator" checked', after)
    assert not re.search(r'value="moderator" checked', after)

    assert other.get("/console/appeals").status_code == 200


def test_an_admin_cannot_lock_themself_out_and_is_told_why(
    visitor: Visitor, admin: auth.UserView, database: Database
) -> None:
    visitor.sign_in("admin.one")
    page = f"{USERS}/{admin.id}"
    mine = visitor.get(page).text
    assert "This is your own account" in mine
    assert re.search(r"<button type=\"submit\" class=\"secondary\" disabled>", mine)

    off = visitor.post(f"{page}/active", {"active": "no"}, form_page=page)
    assert off.status_code == 403
    assert "You cannot deactivate your own account" in off.text
    assert "own_account_protected" in off.text
    demote = visitor.post(f"{page}/roles", {"roles": ["auditor"]}, form_page=page)
    assert demote.status_code == 403
    assert "take away your own admin role" in demote.text
    kept = visitor.post(f"{page}/roles", {"roles": ["admin", "auditor"]}, form_page=page)
    assert kept.status_code == 303
    with database.session() as session:
        me = auth.get_user(session, admin.id)
    assert me.active and me.roles == (Role.ADMIN, Role.AUDITOR)


def test_a_deactivated_user_is_signed_out_and_their_token_stops_working(
    visitor: Visitor, other: Visitor, desk: Desk, admin: auth.UserView, database: Database
) -> None:
    assert desk.get("/v1/cases/queue", desk.moderator).status_code == 200
    other.sign_in("mod.one")
    assert other.get("/console/queue").status_code == 200

    visitor.sign_in("admin.one")
    page = f"{USERS}/{user_id(database, 'mod.one')}"
    off = visitor.post(f"{page}/active", {"active": "no"}, form_page=page)
    assert off.status_code == 303
    shown = visitor.get(page).text
    assert "The user is deactivated" in shown
    assert re.search(r'id="user-state"><span class="badge expired">deactivated', shown)
    assert "Reactivate the user" in shown

    gone = other.get("/console/queue", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/console/login")
    assert other.get("/console/queue", follow_redirects=False).status_code == 303
    refused = other.post("/console/login", {"username": "mod.one", "password": "x" * 16})
    assert refused.status_code == 401
    assert_problem(desk.get("/v1/cases/queue", desk.moderator), 401, "invalid_credentials")

    on = visitor.post(f"{page}/active", {"active": "yes"}, form_page=page)
    assert on.status_code == 303
    assert "The user is active again" in visitor.get(page).text
    other.sign_in("mod.one")
    assert other.get("/console/queue").status_code == 200
    # the old token stays revoked
    assert_problem(desk.get("/v1/cases/queue", desk.moderator), 401, "invalid_credentials")


def test_an_admin_sets_a_new_password(
    visitor: Visitor, other: Visitor, admin: auth.UserView, database: Database
) -> None:
    other.sign_in("auditor.one")  # a session made before the new password
    assert other.get("/console/log", follow_redirects=False).status_code == 200
    visitor.sign_in("admin.one")
    page = f"{USERS}/{user_id(database, 'auditor.one')}"
    short = visitor.post(f"{page}/password", {"password": "short"}, form_page=page)
    assert other.get("/console/log", follow_redirects=False).status_code == 200  # unchanged
    assert short.status_code == 422
    assert "a password is 12 to 1024 characters long" in short.text
    answer = visitor.post(f"{page}/password", {"password": "a new long passphrase"}, form_page=page)
    assert answer.status_code == 303
    assert "The new password is set." in visitor.get(page).text
    ended = other.get("/console/log", follow_redirects=False)
    assert ended.status_code == 303  # the older session ends: sign in again
    assert ended.headers["location"].startswith("/console/login")
    assert (
        other.post("/console/login", {"username": "auditor.one", "password": "x" * 16}).status_code
        == 401
    )
    other.sign_in("auditor.one", "a new long passphrase")


def test_a_missing_user_or_a_bad_address_gets_a_clear_page(
    visitor: Visitor, admin: auth.UserView
) -> None:
    visitor.sign_in("admin.one")
    nobody = f"{USERS}/{uuid.uuid4()}"
    assert visitor.get(nobody).status_code == 404
    for action, form in (("roles", {"roles": "auditor"}), ("active", {"active": "no"})):
        answer = visitor.post(f"{nobody}/{action}", form, form_page=USERS)
        assert answer.status_code == 404, action
        assert "user_not_found" in answer.text
    bad_ids = ("not-a-uuid", "123", "%F0%9F%98%B4", "x" * 300, "%00")
    for bad in bad_ids:
        for path, method in (
            (f"{USERS}/{bad}", "GET"),
            (f"{USERS}/{bad}/roles", "POST"),
            (f"{USERS}/{bad}/active", "POST"),
            (f"{USERS}/{bad}/password", "POST"),
            (f"{SERVICES}/{bad}/keys", "POST"),
            (f"{SERVICES}/{uuid.uuid4()}/keys/{bad}/revoke", "POST"),
            (f"{SERVICES}/{bad}/keys/{uuid.uuid4()}/revoke", "POST"),
        ):
            if method == "GET":
                answer = visitor.get(path)
            else:
                answer = visitor.post(path, {"roles": "auditor", "active": "no"}, form_page=USERS)
            assert answer.status_code in {404, 422}, (path, answer.status_code)
            assert "text/html" in answer.headers["content-type"]
            assert not TRACEBACK.search(answer.text)


def test_the_active_field_takes_only_yes_or_no(
    visitor: Visitor, admin: auth.UserView, database: Database
) -> None:
    visitor.sign_in("admin.one")
    page = f"{USERS}/{user_id(database, 'mod.one')}"
    answer = visitor.post(f"{page}/active", {"active": "maybe"}, form_page=page)
    assert answer.status_code == 422
    assert "choose to deactivate or to reactivate the user" in answer.text


# --- services and API keys ---------------------------------------------------------------


def test_a_new_service_shows_its_key_once_and_the_key_works(
    visitor: Visitor, desk: Desk, admin: auth.UserView
) -> None:
    visitor.sign_in("admin.one")
    form = {"name": "Chatroom", "types": ["online_chat", "social_network"], "packs": ["cn-xj-2014"]}
    answer = visitor.post(SERVICES, form, form_page=SERVICES)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found = NEW_KEY.search(answer.text)
    assert found, answer.text
    key = found.group(1)
    assert "shown only this once" in answer.text
    assert key not in str(answer.headers)
    assert key not in session_cookie_text(visitor)

    me = desk.client.get("/v1/service", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Chatroom"
    assert sorted(me.json()["types"]) == ["online_chat", "social_network"]

    again = visitor.get(SERVICES).text
    assert "Chatroom" in again
    assert key not in again
    assert key[:12] in again  # the prefix identifies it


def test_a_refused_service_keeps_the_form_and_says_why(
    visitor: Visitor, desk: Desk, admin: auth.UserView
) -> None:
    visitor.sign_in("admin.one")
    cases = {
        ("Casebook", ("online_chat",), ()): (409, "A service with this name exists already."),
        ("Fresh", (), ()): (422, "a service has at least one type"),
        ("Fresh", ("telepathy",), ()): (422, "choose service types from the list"),
        ("Fresh", ("online_chat",), ("no-such-pack",)): (404, "There is no such policy pack."),
        ("x" * 201, ("online_chat",), ()): (422, "a service name is 1 to 200 characters"),
        ("a\u202eb", ("online_chat",), ()): (422, "control or format characters"),
    }
    for (name, types, packs), (status, message) in cases.items():
        form = {"name": name, "types": list(types), "packs": list(packs)}
        answer = visitor.post(SERVICES, form, form_page=SERVICES)
        assert answer.status_code == status, (name, types, packs, answer.text[:300])
        assert message in answer.text
        assert not NEW_KEY.search(answer.text)
    kept = visitor.post(
        SERVICES, {"name": "Casebook", "types": ["cloud_storage"]}, form_page=SERVICES
    )
    assert re.search(r'value="cloud_storage" checked', kept.text)
    assert 'value="Casebook"' in kept.text


def test_issuing_and_revoking_keys_works_through_the_real_api(
    visitor: Visitor, desk: Desk, admin: auth.UserView, database: Database
) -> None:
    visitor.sign_in("admin.one")
    issued = visitor.post(f"{SERVICES}/{desk.service_id}/keys", form_page=SERVICES)
    assert issued.status_code == 201
    found = NEW_KEY.search(issued.text)
    assert found
    new_key = found.group(1)
    assert new_key not in session_cookie_text(visitor)
    assert desk.client.get("/v1/service", headers=bearer(new_key)).status_code == 200

    first, _issued = key_ids(database, desk.service_id)
    revoke = f"{SERVICES}/{desk.service_id}/keys/{first}/revoke"
    answer = visitor.post(revoke, form_page=SERVICES)
    assert answer.status_code == 303
    shown = visitor.get(SERVICES).text
    assert "The API key is revoked; it no longer works." in shown
    assert re.search(rf'data-key="{first}">.*?badge expired">revoked', shown, re.S)
    assert_problem(
        desk.client.get("/v1/service", headers=bearer(desk.key)), 401, "invalid_credentials"
    )
    assert desk.client.get("/v1/service", headers=bearer(new_key)).status_code == 200

    twice = visitor.post(revoke, form_page=SERVICES)
    assert twice.status_code == 409
    assert "This API key is revoked already." in twice.text


def test_another_services_key_cannot_be_revoked_through_this_service(
    visitor: Visitor, desk: Desk, admin: auth.UserView, database: Database
) -> None:
    visitor.sign_in("admin.one")
    created = visitor.post(SERVICES, {"name": "Elsewhere", "types": ["other"]}, form_page=SERVICES)
    found = NEW_KEY.search(created.text)
    assert found
    casebook_key = key_ids(database, desk.service_id)[0]
    elsewhere = desk.client.get("/v1/service", headers=bearer(found.group(1))).json()["id"]
    wrong = f"{SERVICES}/{elsewhere}/keys/{casebook_key}/revoke"
    answer = visitor.post(wrong, form_page=SERVICES)
    assert answer.status_code == 404
    assert "This service has no such API key." in answer.text
    assert desk.client.get("/v1/service", headers=bearer(desk.key)).status_code == 200
    missing = visitor.post(f"{SERVICES}/{uuid.uuid4()}/keys", form_page=SERVICES)
    assert missing.status_code == 404
    assert "There is no such service." in missing.text


def test_readers_of_services_see_keys_but_no_write_form(
    visitor: Visitor, desk: Desk, database: Database
) -> None:
    visitor.sign_in("auditor.one")
    page = visitor.get(SERVICES)
    assert page.status_code == 200
    assert "Casebook" in page.text
    assert desk.key[:12] in page.text
    assert desk.key not in page.text
    for write in ('id="service-form"', "Issue a new key", "/revoke", "Revoke"):
        assert write not in page.text, write
    refused = visitor.post(f"{SERVICES}/{desk.service_id}/keys", form_page=SERVICES)
    assert refused.status_code == 403
    assert len(key_ids(database, desk.service_id)) == 1


# --- CSRF and hostile input on every form -------------------------------------------------

# name: (path, the page holding the token, valid values)
FORMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create_user": (USERS, USERS, NEW_USER),
    "set_user_roles": ("{user}/roles", "{user}", {"roles": ["auditor"]}),
    "set_user_active": ("{user}/active", "{user}", {"active": "no"}),
    "set_user_password": ("{user}/password", "{user}", {"password": "a new long passphrase"}),
    "create_service": (
        SERVICES,
        SERVICES,
        {"name": "Fresh", "types": ["online_chat"], "packs": ["cn-xj-2014"]},
    ),
    "issue_api_key": ("{service}/keys", SERVICES, {}),
    "revoke_api_key": ("{service}/keys/{key}/revoke", SERVICES, {}),
}


def _names(desk: Desk, database: Database) -> dict[str, str]:
    return {
        "user": f"{USERS}/{user_id(database, 'mod.one')}",
        "service": f"{SERVICES}/{desk.service_id}",
        "key": str(key_ids(database, desk.service_id)[0]),
    }


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_refuses_a_missing_or_forged_token(
    visitor: Visitor, desk: Desk, admin: auth.UserView, database: Database, form: str
) -> None:
    path, _page, valid = FORMS[form]
    path = path.format(**_names(desk, database))
    visitor.sign_in("admin.one")
    for token in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        answer = visitor.client.post(path, data={**valid, **token}, follow_redirects=False)
        assert answer.status_code == 403, (form, token)
        assert "csrf_failed" in answer.text
    with database.session() as session:
        assert auth.get_user(session, user_id(database, "mod.one")).active
        assert len(auth.list_api_keys(session, uuid.UUID(desk.service_id))) == 1
        assert all(u.username != "new.person" for u in auth.list_users(session))


@pytest.mark.parametrize("form", sorted(name for name, spec in FORMS.items() if spec[2]))
def test_hostile_input_in_every_field_gets_a_clear_page(
    visitor: Visitor, desk: Desk, admin: auth.UserView, database: Database, form: str
) -> None:
    names = _names(desk, database)
    path, token_page, valid = FORMS[form]
    path, token_page = path.format(**names), token_page.format(**names)
    visitor.sign_in("admin.one")
    assert_hostile_fields_answered(
        visitor, path, valid, token_page=token_page, statuses={201, 303, 404, 409, 422}
    )
    # nothing hostile was stored where it does not belong
    with database.session() as session:
        for person in auth.list_users(session):
            assert "<script>" not in person.username
            assert "\x00" not in person.display_name
            assert "\u202e" not in person.display_name
