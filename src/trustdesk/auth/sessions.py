"""Console sessions kept on the server: open at sign-in, find on every request, revoke.

The browser's cookie holds a random 256-bit token and nothing else; the table holds its
SHA-256 digest, the user, the session's CSRF token and its times. A session is live while
it is not revoked, not past its absolute ``expires_at``, seen within the idle timeout and
its user is active. Signing out revokes the row, so a copied cookie dies with it;
deactivating a user, setting their password or changing their roles revokes all of theirs
(:mod:`trustdesk.auth.service` calls :func:`revoke_all` in the same transaction).

``last_seen_at`` is written at most once per :data:`TOUCH_EVERY` so that the hot path of
every page stays a read; the idle timeout is therefore exact to within that much.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.auth.models import ConsoleSession, User
from trustdesk.crypto.tokens import token_digest
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction

TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128  # a cookie longer than any token we make is not looked up


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long a session may stay unused (idle) and how long it may live at all."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A live session as the console sees it (never its token or digest)."""

    id: uuid.UUID
    user_id: uuid.UUID
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live session as its user may see it in a list."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _live(lifetimes: Lifetimes, now: datetime) -> list[ColumnElement[bool]]:
    return [
        ConsoleSession.revoked_at.is_(None),
        ConsoleSession.expires_at > now,
        ConsoleSession.last_seen_at > now - lifetimes.idle,
    ]


def open_session(
    session: Session, user_id: uuid.UUID, lifetimes: Lifetimes, *, now: datetime | None = None
) -> tuple[str, LiveSession]:
    """A new session for ``user_id``: its token (for the cookie, shown nowhere else) and
    the session. Always a fresh token, so signing in never keeps an id a visitor brought
    (no fixation). Sessions that have ended are purged on the way."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with transaction(session):
        purge(session, lifetimes, now=now)
        row = ConsoleSession(
            user_id=user_id,
            digest=token_digest(token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetimes.absolute,
        )
        session.add(row)
        session.flush()
        return token, _view(row)


def _view(row: ConsoleSession) -> LiveSession:
    return LiveSession(row.id, row.user_id, row.csrf_token, row.created_at, row.expires_at)


def find(
    session: Session, token: str, lifetimes: Lifetimes, *, now: datetime | None = None
) -> LiveSession | None:
    """The live session whose cookie token this is, or None (unknown, revoked, expired,
    idle too long, or its user deactivated). Notes the visit at most once a minute."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = now or utcnow()
    with transaction(session):
        row = session.execute(
            select(ConsoleSession)
            .join(User, User.id == ConsoleSession.user_id)
            .where(
                ConsoleSession.digest == token_digest(token), User.active, *_live(lifetimes, now)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            session.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id == row.id)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
        return _view(row)


def revoke(session: Session, session_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """End one session (signing out): its cookie opens nothing from now on."""
    with transaction(session):
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )


def revoke_all(
    session: Session,
    user_id: uuid.UUID,
    *,
    keep: uuid.UUID | None = None,
    now: datetime | None = None,
) -> int:
    """End every session of ``user_id`` (but ``keep``, the one asking, if given); how many
    were still open."""
    conditions = [ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(ConsoleSession.id != keep)
    with transaction(session):
        ended = session.execute(
            update(ConsoleSession)
            .where(*conditions)
            .values(revoked_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(ended.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult


def list_live(
    session: Session, user_id: uuid.UUID, lifetimes: Lifetimes, *, now: datetime | None = None
) -> list[SessionView]:
    """``user_id``'s live sessions, most recently seen first."""
    now = now or utcnow()
    with transaction(session):
        rows = session.scalars(
            select(ConsoleSession)
            .where(ConsoleSession.user_id == user_id, *_live(lifetimes, now))
            .order_by(ConsoleSession.last_seen_at.desc(), ConsoleSession.id)
        ).all()
        return [SessionView(r.id, r.created_at, r.last_seen_at, r.expires_at) for r in rows]


def purge(session: Session, lifetimes: Lifetimes, *, now: datetime | None = None) -> int:
    """Delete the rows of sessions that have ended (revoked, expired or idle too long);
    how many. Their cookies open nothing either way: this only keeps the table small."""
    now = now or utcnow()
    with transaction(session):
        purged = session.execute(
            delete(ConsoleSession)
            .where(
                or_(
                    ConsoleSession.revoked_at.is_not(None),
                    ConsoleSession.expires_at <= now,
                    ConsoleSession.last_seen_at <= now - lifetimes.idle,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(purged.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult
