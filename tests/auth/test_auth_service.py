from __future__ import annotations

import pytest
from sqlalchemy import select

from trustdesk.auth import secrets, service
from trustdesk.auth.models import ApiKey, User
from trustdesk.db.engine import Database
from trustdesk.errors import InvalidInput
from trustdesk.permissions import Permission, Role

from support import ServiceFactory


def test_api_key_is_stored_only_as_a_digest(
    database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()
    with database.session() as session:
        stored = session.scalars(select(ApiKey)).all()
        assert len(stored) == 1
        assert stored[0].digest == secrets.api_key_digest(created.api_key)
        assert created.api_key not in {stored[0].digest, stored[0].prefix}
        assert created.api_key.startswith(stored[0].prefix)
        caller = service.authenticate_api_key(session, created.api_key)
    assert caller.service_id == created.service.id


@pytest.mark.parametrize(
    "key", ["", "td_", "td_wrong", "not-a-key", "td_" + "x" * 200, "td_\x00", "td_\ud800"]
)
def test_wrong_api_keys_are_refused(
    database: Database, make_service: ServiceFactory, key: str
) -> None:
    make_service()
    with database.session() as session, pytest.raises(service.InvalidCredentials):
        service.authenticate_api_key(session, key)


def test_users_get_argon2id_hashes_and_roles(database: Database) -> None:
    with database.session() as session:
        view = service.create_user(
            session, username="mod.ann", password="correct horse battery", roles=[Role.MODERATOR]
        )
        stored = session.scalars(select(User)).one()
        assert stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
    assert view.roles == (Role.MODERATOR,)
    assert Permission.CASES_CASE_DECIDE in view.permissions


def test_sign_in_checks_the_password(database: Database) -> None:
    with database.session() as session:
        service.create_user(
            session, username="ann", password="correct horse battery", roles=[Role.AUDITOR]
        )
        assert service.sign_in(session, "ann", "correct horse battery").username == "ann"
        with pytest.raises(service.InvalidCredentials):
            service.sign_in(session, "ann", "wrong horse battery")
        with pytest.raises(service.InvalidCredentials):
            service.sign_in(session, "nobody", "correct horse battery")


def test_usernames_are_unique(database: Database) -> None:
    with database.session() as session:
        service.create_user(session, username="ann", password="x" * 12, roles=[Role.ADMIN])
        with pytest.raises(service.UsernameTaken):
            service.create_user(session, username="ann", password="y" * 12, roles=[Role.ADMIN])


@pytest.mark.parametrize(
    ("username", "password", "roles", "language"),
    [
        ("", "x" * 12, [Role.ADMIN], "en"),
        ("Ann", "x" * 12, [Role.ADMIN], "en"),
        ("a" * 64, "x" * 12, [Role.ADMIN], "en"),
        ("ann\x00", "x" * 12, [Role.ADMIN], "en"),
        ("ann", "short", [Role.ADMIN], "en"),
        ("ann", "x" * 2000, [Role.ADMIN], "en"),
        ("ann", "x" * 12, [], "en"),
        ("ann", "x" * 12, [Role.ADMIN], "fr"),
    ],
)
def test_bad_new_users_are_refused(
    database: Database, username: str, password: str, roles: list[Role], language: str
) -> None:
    with database.session() as session, pytest.raises(InvalidInput):
        service.create_user(
            session, username=username, password=password, roles=roles, language=language
        )
    with database.session() as session:
        assert service.list_users(session) == []
