"""Administering users and API keys: roles, deactivation, passwords, revocation, and the
guard rails that keep the desk from locking itself out."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from trustdesk.auth import service
from trustdesk.callers import UserCaller
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput, PermissionDenied
from trustdesk.permissions import Permission, Role
from trustdesk.records import service as records
from trustdesk.records.events import EventType

from support import HOSTILE_STRINGS, ServiceFactory

PASSWORD = "correct horse battery"


def make_user(database: Database, username: str, *roles: Role) -> service.UserView:
    with database.session() as session:
        return service.create_user(session, username=username, password=PASSWORD, roles=roles)


def caller_of(user: service.UserView) -> UserCaller:
    return UserCaller(user.id, user.username, user.permissions)


def events(database: Database, type_: EventType) -> list[dict[str, Any]]:
    """The data of every log entry of ``type_``, oldest first."""
    with database.session() as session:
        leaves = [json.loads(e.leaf) for e in records.entries(session, 0, 10**6)]
    return [leaf["data"] for leaf in leaves if leaf["type"] == type_]


@pytest.fixture
def admins(database: Database) -> tuple[service.UserView, service.UserView]:
    return make_user(database, "admin.one", Role.ADMIN), make_user(
        database, "admin.two", Role.ADMIN
    )


def test_get_user_finds_a_user_by_id_and_says_when_there_is_none(database: Database) -> None:
    made = make_user(database, "ann", Role.AUDITOR)
    with database.session() as session:
        assert service.get_user(session, made.id) == made
        with pytest.raises(service.UserNotFound):
            service.get_user(session, uuid.uuid4())


def test_roles_change_and_the_change_is_logged_with_ids_and_roles_only(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    actor = caller_of(admins[0])
    ann = make_user(database, "ann", Role.MODERATOR)
    with database.session() as session:
        changed = service.set_roles(
            session, actor, ann.id, [Role.SENIOR_MODERATOR, Role.AUDITOR, Role.AUDITOR]
        )
        assert service.get_user(session, ann.id).roles == changed.roles
    assert changed.roles == (Role.AUDITOR, Role.SENIOR_MODERATOR)
    assert Permission.CASES_APPEAL_DECIDE in changed.permissions
    assert events(database, EventType.AUTH_USER_ROLES_CHANGED) == [
        {
            "user_id": str(ann.id),
            "roles": ["auditor", "senior_moderator"],
            "previous_roles": ["moderator"],
            "by": str(admins[0].id),
        }
    ]
    with database.session() as session:  # the same roles again change nothing
        service.set_roles(session, actor, ann.id, [Role.AUDITOR, Role.SENIOR_MODERATOR])
    assert len(events(database, EventType.AUTH_USER_ROLES_CHANGED)) == 1


def test_a_user_keeps_at_least_one_role(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    ann = make_user(database, "ann", Role.MODERATOR)
    with database.session() as session, pytest.raises(InvalidInput, match="at least one role"):
        service.set_roles(session, caller_of(admins[0]), ann.id, [])


def test_nobody_takes_away_their_own_admin_role(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    me = admins[0]
    with database.session() as session:
        with pytest.raises(service.OwnAccountProtected):
            service.set_roles(session, caller_of(me), me.id, [Role.AUDITOR])
        kept = service.set_roles(session, caller_of(me), me.id, [Role.ADMIN, Role.AUDITOR])
    assert kept.roles == (Role.ADMIN, Role.AUDITOR)
    # another administrator may demote them
    with database.session() as session:
        demoted = service.set_roles(session, caller_of(admins[1]), me.id, [Role.AUDITOR])
    assert demoted.roles == (Role.AUDITOR,)


def test_nobody_deactivates_themself(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    me = admins[0]
    with database.session() as session:
        with pytest.raises(service.OwnAccountProtected):
            service.set_active(session, caller_of(me), me.id, active=False)
        assert service.get_user(session, me.id).active
    assert events(database, EventType.AUTH_USER_DEACTIVATED) == []


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(database: Database) -> None:
    # A caller who manages users without being an administrator in the database (a
    # script's token, say) meets the last rule the other guard rails leave to it.
    operator = UserCaller(uuid.uuid4(), "ops", frozenset({Permission.AUTH_USER_MANAGE}))
    only = make_user(database, "admin.only", Role.ADMIN)
    with database.session() as session:
        with pytest.raises(service.LastAdmin, match="last active administrator"):
            service.set_roles(session, operator, only.id, [Role.AUDITOR])
        with pytest.raises(service.LastAdmin):
            service.set_active(session, operator, only.id, active=False)
        assert service.get_user(session, only.id).roles == (Role.ADMIN,)
        assert service.get_user(session, only.id).active
    # an inactive administrator does not count: with the second one deactivated, the first
    # is still the last
    second = make_user(database, "admin.second", Role.ADMIN)
    with database.session() as session:
        service.set_active(session, operator, second.id, active=False)
        with pytest.raises(service.LastAdmin):
            service.set_active(session, operator, only.id, active=False)
        # and an inactive one may lose the role freely
        assert service.set_roles(session, operator, second.id, [Role.AUDITOR]).roles == (
            Role.AUDITOR,
        )
        service.set_roles(session, operator, second.id, [Role.ADMIN])
        service.set_active(session, operator, second.id, active=True)
        # now there are two: the first may go
        assert not service.set_active(session, operator, only.id, active=False).active


def test_deactivation_stops_sign_in_and_tokens_and_reactivation_restores_sign_in_only(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    actor = caller_of(admins[0])
    ann = make_user(database, "ann", Role.AUDITOR)
    with database.session() as session:
        token = service.issue_user_token(session, "ann")
        assert service.authenticate(session, token).user_id == ann.id  # type: ignore[union-attr]
        off = service.set_active(session, actor, ann.id, active=False)
        assert not off.active
        with pytest.raises(service.InvalidCredentials):
            service.authenticate(session, token)
        with pytest.raises(service.InvalidCredentials):
            service.sign_in(session, "ann", PASSWORD)
        with pytest.raises(service.UserNotFound):
            service.issue_user_token(session, "ann")
        again = service.set_active(session, actor, ann.id, active=True)
        assert again.active
        assert service.sign_in(session, "ann", PASSWORD).id == ann.id
        with pytest.raises(service.InvalidCredentials):  # revoked, not merely suspended
            service.authenticate(session, token)
        fresh = service.issue_user_token(session, "ann")
        assert service.authenticate(session, fresh).user_id == ann.id  # type: ignore[union-attr]
    by = str(admins[0].id)
    assert events(database, EventType.AUTH_USER_DEACTIVATED) == [
        {"user_id": str(ann.id), "by": by, "tokens_revoked": 1}
    ]
    assert events(database, EventType.AUTH_USER_REACTIVATED) == [{"user_id": str(ann.id), "by": by}]


def test_an_admin_sets_a_new_password_and_the_log_holds_no_secret(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    ann = make_user(database, "ann", Role.AUDITOR)
    new = "a brand new passphrase"
    with database.session() as session:
        renamed = service.set_roles(session, caller_of(admins[0]), ann.id, [Role.MODERATOR])
        assert renamed.credentials == ann.credentials  # roles are no credentials
        changed = service.set_password(session, caller_of(admins[0]), ann.id, new)
        assert changed.credentials != ann.credentials  # older console sessions end
        assert service.get_user(session, ann.id).credentials == changed.credentials
        assert service.sign_in(session, "ann", new).id == ann.id
        with pytest.raises(service.InvalidCredentials):
            service.sign_in(session, "ann", PASSWORD)
        leaves = b"".join(e.leaf for e in records.entries(session, 0, 10**6))
    assert events(database, EventType.AUTH_USER_PASSWORD_SET) == [
        {"user_id": str(ann.id), "by": str(admins[0].id)}
    ]
    assert new.encode() not in leaves
    assert b"argon2" not in leaves


@pytest.mark.parametrize("password", ["short", "x" * 1025, "x" * 12 + "\x00", "x" * 12 + "\ud800"])
def test_a_bad_new_password_is_refused(
    database: Database, admins: tuple[service.UserView, service.UserView], password: str
) -> None:
    ann = make_user(database, "ann", Role.AUDITOR)
    with database.session() as session, pytest.raises(InvalidInput):
        service.set_password(session, caller_of(admins[0]), ann.id, password)
    with database.session() as session:
        assert service.sign_in(session, "ann", PASSWORD).id == ann.id


def test_changes_to_a_missing_user_say_so(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    actor, nobody = caller_of(admins[0]), uuid.uuid4()
    with database.session() as session:
        with pytest.raises(service.UserNotFound):
            service.set_roles(session, actor, nobody, [Role.AUDITOR])
        with pytest.raises(service.UserNotFound):
            service.set_active(session, actor, nobody, active=False)
        with pytest.raises(service.UserNotFound):
            service.set_password(session, actor, nobody, PASSWORD)


def test_only_a_caller_who_manages_users_may_change_them(database: Database) -> None:
    auditor = make_user(database, "aud", Role.AUDITOR)
    ann = make_user(database, "ann", Role.MODERATOR)
    them = caller_of(auditor)
    with database.session() as session:
        for change in (
            lambda: service.set_roles(session, them, ann.id, [Role.ADMIN]),
            lambda: service.set_active(session, them, ann.id, active=False),
            lambda: service.set_password(session, them, ann.id, "y" * 20),
            lambda: service.create_user(
                session, username="bob", password="y" * 20, roles=[Role.ADMIN], by=them
            ),
        ):
            with pytest.raises(PermissionDenied):
                change()
        assert service.get_user(session, ann.id).roles == (Role.MODERATOR,)


def test_a_user_created_by_an_admin_names_them_in_the_log(
    database: Database, admins: tuple[service.UserView, service.UserView]
) -> None:
    with database.session() as session:
        made = service.create_user(
            session,
            username="bob",
            password="y" * 20,
            roles=[Role.MODERATOR],
            display_name="  Bob 王  ",
            language="zh",
            by=caller_of(admins[0]),
        )
    assert made.display_name == "Bob 王"
    created = events(database, EventType.AUTH_USER_CREATED)
    assert created[-1] == {"user_id": str(made.id), "roles": ["moderator"], "by": str(admins[0].id)}


@pytest.mark.parametrize("name", ["x" * 201, "a\u202eb", "a\x07b", "a\nb"])
def test_display_names_are_printable_and_bounded(database: Database, name: str) -> None:
    with database.session() as session, pytest.raises(InvalidInput, match="display name"):
        service.create_user(
            session, username="bob", password="y" * 20, roles=[Role.AUDITOR], display_name=name
        )


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_strings_are_refused_or_kept_exactly(database: Database, hostile: str) -> None:
    for n, field in enumerate(("username", "display_name", "password", "language")):
        values: dict[str, Any] = {
            "username": f"bob-{n}",
            "password": "y" * 20,
            "display_name": "Bob",
            "language": "en",
            field: hostile,
        }
        with database.session() as session:
            try:
                made = service.create_user(session, roles=[Role.AUDITOR], **values)
            except InvalidInput:
                continue
            # only a display name or a password can be an arbitrary string
            assert field in {"display_name", "password"}, field
            if field == "display_name":
                assert made.display_name == (hostile.strip() or made.username)
            else:
                assert service.sign_in(session, made.username, hostile).id == made.id


# --- API keys ---------------------------------------------------------------------------


def test_keys_are_listed_without_their_digest_and_revoked_at_once(
    database: Database,
    make_service: ServiceFactory,
    admins: tuple[service.UserView, service.UserView],
) -> None:
    created = make_service()
    service_id, actor = created.service.id, caller_of(admins[0])
    with database.session() as session:
        second = service.issue_api_key(session, service_id, by=actor)
        keys = service.list_api_keys(session, service_id)
        assert [k.prefix for k in keys] == [created.api_key[:12], second[:12]]
        assert not hasattr(keys[0], "digest")
        assert all(k.revoked_at is None for k in keys)
        revoked = service.revoke_api_key(session, actor, service_id, keys[0].id)
        assert revoked.revoked and revoked.revoked_at is not None
        with pytest.raises(service.InvalidCredentials):
            service.authenticate_api_key(session, created.api_key)
        assert service.authenticate_api_key(session, second).service_id == service_id
        listed = service.list_api_keys(session, service_id)
        assert [k.revoked for k in listed] == [True, False]
    issued = events(database, EventType.AUTH_APIKEY_ISSUED)
    assert issued[-1] == {
        "key_id": str(keys[1].id),
        "prefix": second[:12],
        "by": str(actor.user_id),
    }
    assert events(database, EventType.AUTH_APIKEY_REVOKED) == [
        {"key_id": str(keys[0].id), "prefix": created.api_key[:12], "by": str(actor.user_id)}
    ]


def test_revoking_twice_or_another_services_key_is_a_clear_error(
    database: Database,
    make_service: ServiceFactory,
    admins: tuple[service.UserView, service.UserView],
) -> None:
    mine, theirs = make_service(), make_service()
    actor = caller_of(admins[0])
    with database.session() as session:
        key_id = service.list_api_keys(session, mine.service.id)[0].id
        their_key = service.list_api_keys(session, theirs.service.id)[0].id
        with pytest.raises(service.ApiKeyNotFound):
            service.revoke_api_key(session, actor, mine.service.id, their_key)
        with pytest.raises(service.ApiKeyNotFound):
            service.revoke_api_key(session, actor, mine.service.id, uuid.uuid4())
        service.revoke_api_key(session, actor, mine.service.id, key_id)
        with pytest.raises(service.ApiKeyRevoked):
            service.revoke_api_key(session, actor, mine.service.id, key_id)
        assert service.authenticate_api_key(session, theirs.api_key).service_id == theirs.service.id
    assert len(events(database, EventType.AUTH_APIKEY_REVOKED)) == 1


def test_only_a_caller_who_manages_services_may_issue_or_revoke_keys(
    database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    auditor = caller_of(make_user(database, "aud", Role.AUDITOR))
    with database.session() as session:
        key_id = service.list_api_keys(session, created.service.id)[0].id
        with pytest.raises(PermissionDenied):
            service.revoke_api_key(session, auditor, created.service.id, key_id)
        with pytest.raises(PermissionDenied):
            service.issue_api_key(session, created.service.id, by=auditor)
        assert len(service.list_api_keys(session, created.service.id)) == 1
