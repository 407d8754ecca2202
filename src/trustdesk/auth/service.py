"""Use cases of the auth slice: issue and check API keys, create and sign in users."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.auth import secrets
from trustdesk.auth.models import ApiKey, User, UserRole, UserToken
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from trustdesk.http.callers import Caller, ServiceCaller, UserCaller
from trustdesk.permissions import Permission, Role, permissions_for
from trustdesk.records import service as records
from trustdesk.records.events import EventType

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LANGUAGES = frozenset({"zh", "en"})


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class UserNotFound(NotFound):
    code = "user_not_found"


MAX_TOKEN_DAYS = 366


@dataclass(frozen=True, slots=True)
class UserView:
    id: uuid.UUID
    username: str
    display_name: str
    language: str
    roles: tuple[Role, ...]
    active: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            language=user.language,
            roles=tuple(r.role for r in user.roles),
            active=user.active,
        )


def issue_api_key(session: Session, service_id: uuid.UUID, key: str | None = None) -> str:
    """A new API key for ``service_id``; the plaintext is returned once and never stored.

    ``key`` registers a key chosen by the caller instead of a random one; only the demo
    data set does that, so its documented key works on every fresh database.
    """
    key = key or secrets.new_api_key()
    if not key.startswith(secrets.API_KEY_PREFIX):
        raise InvalidInput(f"an API key starts with {secrets.API_KEY_PREFIX!r}")
    with transaction(session):
        row = ApiKey(
            service_id=service_id,
            prefix=secrets.api_key_prefix(key),
            digest=secrets.api_key_digest(key),
        )
        session.add(row)
        session.flush()
        records.append(
            session,
            EventType.AUTH_APIKEY_ISSUED,
            service_id=service_id,
            data={"key_id": str(row.id), "prefix": row.prefix},
        )
    return key


def authenticate_api_key(session: Session, key: str) -> ServiceCaller:
    """The service a (non-revoked) key belongs to, or :class:`InvalidCredentials`."""
    if not key.startswith(secrets.API_KEY_PREFIX) or len(key) > 128:
        raise InvalidCredentials("the API key is not valid")
    with transaction(session):
        row = session.execute(
            select(ApiKey.id, ApiKey.service_id).where(
                ApiKey.digest == secrets.api_key_digest(key), ApiKey.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None:
        raise InvalidCredentials("the API key is not valid")
    return ServiceCaller(service_id=row.service_id, key_id=row.id)


def _check_new_user(username: str, password: str, roles: Sequence[Role], language: str) -> None:
    if not USERNAME.fullmatch(username):
        msg = "a username is 2-63 characters: lower-case letters, digits, '.', '_' or '-'"
        raise InvalidInput(msg)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        msg = f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        raise InvalidInput(msg)
    if not roles:
        raise InvalidInput("a user needs at least one role")
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(sorted(LANGUAGES))}")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: Iterable[Role],
    display_name: str | None = None,
    language: str = "en",
) -> UserView:
    """Create a console user with an argon2id password hash."""
    role_list = sorted(set(roles))
    _check_new_user(username, password, role_list, language)
    with transaction(session):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UsernameTaken(f"the username {username!r} is taken")
        user = User(
            username=username,
            display_name=(display_name or username)[:200],
            password_hash=secrets.hash_password(password),
            language=language,
            roles=[UserRole(role=role) for role in role_list],
        )
        session.add(user)
        session.flush()
        records.append(
            session,
            EventType.AUTH_USER_CREATED,
            service_id=None,
            data={"user_id": str(user.id), "roles": [str(role) for role in role_list]},
        )
        return UserView.of(user)


def sign_in(session: Session, username: str, password: str) -> UserView:
    """The user whose name and password these are, or :class:`InvalidCredentials`."""
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username, User.active))
        if not secrets.verify_password(user.password_hash if user else None, password):
            raise InvalidCredentials("wrong username or password")
        assert user is not None  # verify_password says no without a hash
        if secrets.needs_rehash(user.password_hash):
            user.password_hash = secrets.hash_password(password)
        return UserView.of(user)


def list_users(session: Session) -> list[UserView]:
    with transaction(session):
        users = session.scalars(select(User).order_by(User.username)).all()
        return [UserView.of(user) for user in users]


def issue_user_token(
    session: Session, username: str, *, days: int = 30, now: datetime | None = None
) -> str:
    """A bearer token for ``username`` valid for ``days``; shown once, stored as a digest."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_TOKEN_DAYS} days")
    token = secrets.new_user_token()
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username, User.active))
        if user is None:
            raise UserNotFound(f"no active user {username!r}")
        row = UserToken(
            user_id=user.id,
            prefix=secrets.api_key_prefix(token),
            digest=secrets.api_key_digest(token),
            expires_at=(now or utcnow()) + timedelta(days=days),
        )
        session.add(row)
        session.flush()
        records.append(
            session,
            EventType.AUTH_TOKEN_ISSUED,
            service_id=None,
            data={"token_id": str(row.id), "user_id": str(user.id), "prefix": row.prefix},
        )
    return token


def authenticate_user_token(
    session: Session, token: str, *, now: datetime | None = None
) -> UserCaller:
    """The active user a live token belongs to, or :class:`InvalidCredentials`."""
    if not token.startswith(secrets.USER_TOKEN_PREFIX) or len(token) > 128:
        raise InvalidCredentials("the token is not valid")
    with transaction(session):
        user = session.scalar(
            select(User)
            .join(UserToken, UserToken.user_id == User.id)
            .where(
                UserToken.digest == secrets.api_key_digest(token),
                UserToken.revoked_at.is_(None),
                UserToken.expires_at > (now or utcnow()),
                User.active,
            )
        )
        if user is None:
            raise InvalidCredentials("the token is not valid or has expired")
        view = UserView.of(user)
    return UserCaller(view.id, view.username, view.permissions)


def authenticate(session: Session, token: str) -> Caller:
    """The service or user a bearer credential belongs to (the app's authenticator)."""
    if token.startswith(secrets.USER_TOKEN_PREFIX):
        return authenticate_user_token(session, token)
    return authenticate_api_key(session, token)
