"""Console sessions on the server: lifetimes, revocation, the quiet hot path, the purge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from trustdesk.auth import service, sessions
from trustdesk.auth.models import ConsoleSession
from trustdesk.callers import UserCaller
from trustdesk.crypto.tokens import token_digest
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.permissions import Role

LIFETIMES = sessions.Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
PASSWORD = "correct horse battery"


def make_user(database: Database, username: str, *roles: Role) -> service.UserView:
    with database.session() as session:
        return service.create_user(session, username=username, password=PASSWORD, roles=roles)


def caller_of(user: service.UserView) -> UserCaller:
    return UserCaller(user.id, user.username, user.permissions)


def open_at(database: Database, user: service.UserView, now: datetime) -> str:
    with database.session() as session:
        token, _live = sessions.open_session(session, user.id, LIFETIMES, now=now)
        return token


def alive(database: Database, token: str, now: datetime) -> bool:
    with database.session() as session:
        return sessions.find(session, token, LIFETIMES, now=now) is not None


@pytest.fixture
def ann(database: Database) -> service.UserView:
    return make_user(database, "ann", Role.MODERATOR)


@pytest.fixture
def admin(database: Database) -> service.UserView:
    return make_user(database, "admin.one", Role.ADMIN)


@contextmanager
def writes_counted(database: Database) -> Iterator[list[str]]:
    """The statements that write, while the block runs."""
    written: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "DELETE", "INSERT")):
            written.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield written
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def test_only_a_digest_of_the_token_is_stored(database: Database, ann: service.UserView) -> None:
    token = open_at(database, ann, utcnow())
    assert len(token) >= 43  # 256 bits, URL-safe
    with database.session() as session:
        row = session.scalars(select(ConsoleSession)).one()
    assert row.digest == token_digest(token)
    assert token not in {row.digest, row.csrf_token, str(row.id)}


def test_a_session_ends_when_idle_and_at_its_absolute_lifetime(
    database: Database, ann: service.UserView
) -> None:
    start = utcnow()
    token = open_at(database, ann, start)
    moment = start
    while moment + timedelta(minutes=25) < start + LIFETIMES.absolute:
        moment += timedelta(minutes=25)  # busy: never 30 minutes idle
        assert alive(database, token, moment), moment - start
    assert not alive(database, token, start + LIFETIMES.absolute)

    idle = open_at(database, ann, start)
    assert alive(database, idle, start + timedelta(minutes=29))
    assert not alive(database, idle, start + timedelta(minutes=29 + 30))


def test_finding_a_session_writes_at_most_once_a_minute(
    database: Database, ann: service.UserView
) -> None:
    start = utcnow()
    token = open_at(database, ann, start)
    with writes_counted(database) as written:
        for second in range(0, 60, 2):  # 30 requests within the first minute
            assert alive(database, token, start + timedelta(seconds=second))
        assert written == []
        assert alive(database, token, start + timedelta(seconds=61))
        assert len(written) == 1
    with database.session() as session:
        seen = session.scalar(select(ConsoleSession.last_seen_at))
    assert seen == start + timedelta(seconds=61)


def test_revoking_ends_one_session_and_a_user_may_end_all_of_theirs(
    database: Database, ann: service.UserView
) -> None:
    now = utcnow()
    first, second, third = (open_at(database, ann, now) for _ in range(3))
    with database.session() as session:
        live = sessions.find(session, first, LIFETIMES, now=now)
        assert live is not None
        sessions.revoke(session, live.id, now=now)
        session.commit()
    assert not alive(database, first, now)
    assert alive(database, second, now) and alive(database, third, now)
    with database.session() as session:
        keep = sessions.find(session, third, LIFETIMES, now=now)
        assert keep is not None
        ended = service.sign_out_everywhere(session, caller_of(ann), ann.id, keep_session=keep.id)
        session.commit()
    assert ended == 1
    assert not alive(database, second, now)
    assert alive(database, third, now)


def test_someone_else_s_sessions_are_ended_only_by_an_administrator(
    database: Database, ann: service.UserView, admin: service.UserView
) -> None:
    now = utcnow()
    token = open_at(database, ann, now)
    bob = make_user(database, "bob", Role.MODERATOR)
    with database.session() as session, pytest.raises(service.PermissionDenied):
        service.sign_out_everywhere(session, caller_of(bob), ann.id)
    assert alive(database, token, now)
    with database.session() as session:
        service.sign_out_everywhere(session, caller_of(admin), ann.id)
        session.commit()
    assert not alive(database, token, now)


def test_deactivation_a_new_password_and_new_roles_end_the_user_s_sessions(
    database: Database, ann: service.UserView, admin: service.UserView
) -> None:
    now = utcnow()
    actor = caller_of(admin)
    changes = (
        lambda s: service.set_password(s, actor, ann.id, "another long password"),
        lambda s: service.set_roles(s, actor, ann.id, [Role.MODERATOR, Role.AUDITOR]),
        lambda s: service.set_active(s, actor, ann.id, active=False),
    )
    for change in changes:
        token = open_at(database, ann, now)
        with database.session() as session:
            change(session)
            session.commit()
        assert not alive(database, token, now)
    with database.session() as session:
        service.set_active(session, actor, ann.id, active=True)
        session.commit()
    # reactivation brings no session back
    with database.session() as session:
        assert sessions.list_live(session, ann.id, LIFETIMES, now=now) == []


def test_an_administrator_changing_their_own_account_keeps_only_the_session_asking(
    database: Database, admin: service.UserView
) -> None:
    now = utcnow()
    here, elsewhere = open_at(database, admin, now), open_at(database, admin, now)
    with database.session() as session:
        live = sessions.find(session, here, LIFETIMES, now=now)
        assert live is not None
        service.set_password(
            session, caller_of(admin), admin.id, "another long password", keep_session=live.id
        )
        session.commit()
    assert alive(database, here, now)
    assert not alive(database, elsewhere, now)


def test_signing_in_purges_the_sessions_that_have_ended(
    database: Database, ann: service.UserView
) -> None:
    start = utcnow()
    expired = open_at(database, ann, start - LIFETIMES.absolute)
    idle = open_at(database, ann, start - LIFETIMES.idle - timedelta(minutes=1))
    revoked = open_at(database, ann, start)
    with database.session() as session:
        live = sessions.find(session, revoked, LIFETIMES, now=start)
        assert live is not None
        sessions.revoke(session, live.id, now=start)
        session.commit()
    kept = open_at(database, ann, start)  # purges on the way
    with database.session() as session:
        digests = set(session.scalars(select(ConsoleSession.digest)))
        count = session.scalar(select(func.count()).select_from(ConsoleSession))
    assert digests == {token_digest(kept)}, (expired, idle)
    assert count == 1


def test_unknown_empty_and_oversized_tokens_find_nothing(
    database: Database, ann: service.UserView
) -> None:
    now = utcnow()
    open_at(database, ann, now)
    for token in ("", "x", "A" * 43, "A" * 10_000):
        assert not alive(database, token, now)
